from django.apps import AppConfig


class PopulationsConfig(AppConfig):
    name = "populations"
    verbose_name = "人口与特殊人群"
