from pathlib import Path

from django.db import migrations

from sheshi.db.rls import enable_tenant_rls

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
RULES = (SQL_DIR / "0004_rules.sql").read_text()
RULES_REVERSE = (SQL_DIR / "0004_rules_reverse.sql").read_text()


class Migration(migrations.Migration):
    # The mapping freeze is a trigger on the ledger's local account mappings.
    dependencies = [("periods", "0003_close_checklist_group_lock"), ("ledger", "0003_database_rules")]

    operations = [
        migrations.RunSQL(RULES, RULES_REVERSE),
        enable_tenant_rls("periods_checklisttemplate"),
        enable_tenant_rls("periods_checklisttemplateitem"),
        enable_tenant_rls("periods_checklisttask"),
        enable_tenant_rls("periods_accountreconciliation"),
        enable_tenant_rls("periods_lockoverride"),
        enable_tenant_rls("periods_groupperiodlock"),
    ]
