from pathlib import Path

from django.db import migrations

from sheshi.db.rls import enable_tenant_rls

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# Files named after their migration and never edited once released: a changed function ships
# as a new migration with its own file.
RULES = (SQL_DIR / "0003_rules.sql").read_text()
RULES_REVERSE = (SQL_DIR / "0003_rules_reverse.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_initial"), ("periods", "0002_database_rules")]

    operations = [
        migrations.RunSQL(RULES, RULES_REVERSE),
        enable_tenant_rls("ledger_account"),
        enable_tenant_rls("ledger_localaccountmapping"),
        enable_tenant_rls("ledger_journalentry"),
        enable_tenant_rls("ledger_journalline"),
        enable_tenant_rls("ledger_balance"),
    ]
