from django.apps import AppConfig
from django.db.models.signals import post_migrate


class KailiConfig(AppConfig):
    name = "kaili"
    verbose_name = "平台基础"

    def ready(self):
        from kaili import roles, signals  # noqa: F401  (signal receivers)

        post_migrate.connect(roles.sync_roles_after_migrate, sender=self)
