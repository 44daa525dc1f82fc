from pathlib import Path

from django.db import migrations

from sheshi.db.rls import enable_tenant_rls

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
RULES = (SQL_DIR / "0002_rules.sql").read_text()
RULES_REVERSE = (SQL_DIR / "0002_rules_reverse.sql").read_text()


class Migration(migrations.Migration):
    # The entity-period guard looks at ledger entries, so the ledger's tables must exist.
    dependencies = [("periods", "0001_initial"), ("ledger", "0002_initial")]

    operations = [
        migrations.RunSQL(RULES, RULES_REVERSE),
        enable_tenant_rls("periods_fiscalyear"),
        enable_tenant_rls("periods_period"),
        enable_tenant_rls("periods_entityperiod"),
        enable_tenant_rls("periods_periodlocksnapshot"),
    ]
