"""Row-level security on the app's simple-history tables: a history row carries its
organisation like the row it records, and another organisation's history is as invisible as its
data (they had none: the app role could read every organisation's history)."""
from django.db import migrations

from sheshi.db.rls import enable_tenant_rls


class Migration(migrations.Migration):
    dependencies = [("consolidation", "0003_elimination_ledger")]

    operations = [
        enable_tenant_rls("consolidation_historicalacquisitionadjustment"),
        enable_tenant_rls("consolidation_historicalconsolidationgroup"),
        enable_tenant_rls("consolidation_historicalconsolidationrun"),
        enable_tenant_rls("consolidation_historicalfxrate"),
        enable_tenant_rls("consolidation_historicalgroupmember"),
    ]
