"""Database guarantees that hold against the application's own credentials (issue #14):
the bulk path's staging tables made by the owner (the app role may not create temporary
tables), lock snapshots taken by the database, soft-closed postings checked against the
actor's grants, the approver is the acting user, account and entity identity fixed under
posted figures. See the SQL files for each rule."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
PARTS = ("0016_bulk_staging", "0016_lock_snapshot", "0016_posting_close_checked", "0016_identity_rules")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0015_pending_entry_posted_elsewhere"), ("periods", "0006_trust"),
                    ("tenancy", "0004_trust")]

    operations = [
        migrations.RunSQL((SQL_DIR / f"{part}.sql").read_text(), (SQL_DIR / f"{part}_reverse.sql").read_text())
        for part in PARTS
    ]
