from django.apps import AppConfig

# The log is written only by the owner's PostgreSQL functions: the app role reads these tables
# (scoped by row-level security) and may not insert, update or delete a row.
AUDIT_TABLES = ("audit_event", "audit_chain", "audit_chain_head", "audit_pending")


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from audit.services.events import audit_event_record
        from sheshi.audit_log import audit_recorder_register
        from sheshi.db.roles import register_append_only, register_read_only

        from . import checks, errors, signals  # noqa: F401  (registers deploy checks, database rules, auth receivers)

        register_append_only("audit_event", "audit_chain")
        register_read_only(*AUDIT_TABLES)
        audit_recorder_register(audit_event_record)  # the kernel's own writes are audited (sheshi/audit_log.py)
