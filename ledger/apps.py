from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "General ledger"

    def ready(self) -> None:
        from ledger import errors  # noqa: F401  (registers database rule names → problem codes)
        from sheshi.db.roles import register_read_only

        register_read_only("ledger_line_entry_pending")  # written only by the ledger's own functions
