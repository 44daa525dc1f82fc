from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "General ledger"

    def ready(self) -> None:
        from ledger import errors  # noqa: F401  (registers database rule names → problem codes)
