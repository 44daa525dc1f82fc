"""Schema-wide hardening after every app's rules exist (issue #14, sheshi/db/hardening.py):
every function's search path pinned with the temporary schema last, no temporary tables for
the application, every history table guarded. Later migrations that add a function pin it in
its own CREATE FUNCTION (tests/foundation/test_database_structure.py checks)."""
from django.db import migrations

from sheshi.db.hardening import GUARD_HISTORY_SQL, PIN_FUNCTIONS_SQL, REVOKE_TEMPORARY_SQL

# Reversing leaves the hardening in place: an unpinned search path or a temporary-table right
# is never a state to go back to.


class Migration(migrations.Migration):
    dependencies = [("consolidation", "0005_trust"), ("ledger", "0016_trust"), ("periods", "0006_trust"),
                    ("audit", "0009_attach_governed"), ("tenancy", "0004_trust")]

    operations = [
        migrations.RunSQL(PIN_FUNCTIONS_SQL, migrations.RunSQL.noop),
        migrations.RunSQL(REVOKE_TEMPORARY_SQL, migrations.RunSQL.noop),
        migrations.RunSQL(GUARD_HISTORY_SQL, migrations.RunSQL.noop),
    ]
