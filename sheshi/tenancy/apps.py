from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "sheshi.tenancy"
    label = "tenancy"
    verbose_name = "Organisations and entities"

    def ready(self) -> None:
        from sheshi.db import roles  # noqa: F401  (post_migrate grants for the app role)
