"""Row-level security on the app's simple-history tables: a history row carries its
organisation like the row it records, and another organisation's history is as invisible as its
data (they had none: the app role could read every organisation's history)."""
from django.db import migrations

from sheshi.db.rls import enable_tenant_rls


class Migration(migrations.Migration):
    dependencies = [("ledger", "0013_lines_guard_share_lock")]

    operations = [
        enable_tenant_rls("ledger_historicalaccount"),
        enable_tenant_rls("ledger_historicaljournalentry"),
        enable_tenant_rls("ledger_historicallocalaccountmapping"),
    ]
