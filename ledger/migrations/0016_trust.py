"""Database guarantees that hold against the application's own credentials (issue #14):
the bulk path's staging tables made by the owner (the app role may not create temporary
tables), lock snapshots taken by the database, soft-closed postings checked against the
actor's grants, the approver is the acting user, account and entity identity fixed under
posted figures. See the SQL files for each rule."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# (forward file, reverse file): the posting rule reverts to its 0010 text, read from that file rather
# than kept as a second copy.
PARTS = (("0016_bulk_staging", "0016_bulk_staging_reverse"), ("0016_lock_snapshot", "0016_lock_snapshot_reverse"),
         ("0016_posting_close_checked", "0010_posting_set_based"),
         ("0016_identity_rules", "0016_identity_rules_reverse"))


class Migration(migrations.Migration):
    dependencies = [("ledger", "0015_pending_entry_posted_elsewhere"), ("periods", "0006_trust"),
                    ("tenancy", "0004_trust")]

    operations = [
        migrations.RunSQL((SQL_DIR / f"{forward}.sql").read_text(), (SQL_DIR / f"{reverse}.sql").read_text())
        for forward, reverse in PARTS
    ]
