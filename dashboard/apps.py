from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "领导驾驶舱"

    def ready(self):
        from dashboard import marks

        marks.connect()
