from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """Stand-in records for the tree tests, until the apps that log real ones exist."""

    name = "tests.records"
    label = "test_records"
