from django.apps import AppConfig


class PeriodsConfig(AppConfig):
    name = "periods"
    verbose_name = "Periods and close"

    def ready(self) -> None:
        import periods.errors  # noqa: F401  (registers the database rule names)
        from sheshi.db.roles import register_append_only, register_read_only

        register_append_only("periods_lockoverride")
        # Lock snapshots are taken by the trigger that locks the period, so the app cannot forge one.
        register_read_only("periods_periodlocksnapshot")
