"""Row-level security on the tenancy history tables: a history row carries its organisation
like the row it records (an organisation's own history row: its id), and another organisation's
history is as invisible as its data (they had none: the app role could read all of it)."""
from django.db import migrations

from sheshi.db.rls import enable_tenant_rls


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0002_row_level_security")]

    operations = [
        enable_tenant_rls("tenancy_historicalentity"),
        enable_tenant_rls("tenancy_historicalmembership"),
        enable_tenant_rls("tenancy_historicalorganisation", column="id"),
    ]
