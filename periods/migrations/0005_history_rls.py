"""Row-level security on the app's simple-history tables: a history row carries its
organisation like the row it records, and another organisation's history is as invisible as its
data (they had none: the app role could read every organisation's history)."""
from django.db import migrations

from sheshi.db.rls import enable_tenant_rls


class Migration(migrations.Migration):
    dependencies = [("periods", "0004_close_rules")]

    operations = [
        enable_tenant_rls("periods_historicalaccountreconciliation"),
        enable_tenant_rls("periods_historicalchecklisttask"),
        enable_tenant_rls("periods_historicalchecklisttemplate"),
        enable_tenant_rls("periods_historicalchecklisttemplateitem"),
        enable_tenant_rls("periods_historicalentityperiod"),
        enable_tenant_rls("periods_historicalfiscalyear"),
        enable_tenant_rls("periods_historicalgroupperiodlock"),
        enable_tenant_rls("periods_historicalperiod"),
    ]
