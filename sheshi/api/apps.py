from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "sheshi.api"
    label = "sheshi_api"
    verbose_name = "API"

    def ready(self) -> None:
        from sheshi.api import schema  # noqa: F401  (registers OpenAPI extensions)
