from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "事件办理"

    def ready(self):
        from cases import exports  # noqa: F401 - registers the incident exporter
