from pathlib import Path

from django.db import migrations

from sheshi.db.rls import enable_tenant_rls

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# Named after their migration and never edited once released.
RULES = (SQL_DIR / "0002_rules.sql").read_text()
RULES_REVERSE = (SQL_DIR / "0002_rules_reverse.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("consolidation", "0001_groups_rates_runs"), ("periods", "0004_close_rules")]

    operations = [
        migrations.RunSQL(RULES, RULES_REVERSE),
        enable_tenant_rls("consolidation_consolidationgroup"),
        enable_tenant_rls("consolidation_groupmember"),
        enable_tenant_rls("consolidation_fxrate"),
        enable_tenant_rls("consolidation_acquisitionadjustment"),
        enable_tenant_rls("consolidation_adjustmentline"),
        enable_tenant_rls("consolidation_consolidationrun"),
    ]
