from pathlib import Path

from django.db import migrations

from sheshi.db.rls import enable_tenant_rls

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# Files named after their migration and never edited once released: a changed function ships as a
# new migration with its own file.
CORE = (SQL_DIR / "0002_core.sql").read_text()
CORE_REVERSE = (SQL_DIR / "0002_core_reverse.sql").read_text()


class Migration(migrations.Migration):
    # sheshi_scope_* (row-level security helpers) and tenancy_entity come from tenancy.
    dependencies = [("audit", "0001_initial"), ("tenancy", "0002_row_level_security")]

    operations = [
        migrations.RunSQL(CORE, CORE_REVERSE),
        enable_tenant_rls("audit_event"),
        enable_tenant_rls("audit_chain"),
        enable_tenant_rls("audit_chain_head"),
    ]
