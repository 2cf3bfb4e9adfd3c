from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = "矛盾纠纷调解"

    def ready(self):
        from cases.hooks import register_dispute_receiver
        from disputes import exports  # noqa: F401 - registers the dispute exporter
        from disputes.services import dispute_from_incident

        # "Turn into a dispute" on an incident creates the dispute here.
        register_dispute_receiver(dispute_from_incident)
