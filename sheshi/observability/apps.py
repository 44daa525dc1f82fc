from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "sheshi.observability"
    label = "observability"
    verbose_name = "Observability"

    def ready(self) -> None:
        from sheshi.observability import jobs

        jobs.connect_signals()
