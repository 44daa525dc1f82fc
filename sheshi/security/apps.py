from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "sheshi.security"
    label = "security"
    verbose_name = "Security: encrypted details and secure defaults"

    def ready(self) -> None:
        from sheshi.security import checks  # noqa: F401  (registers deployment checks)
