"""Lines written into an existing entry hold it FOR SHARE, so a concurrent posting waits for them
(ledger/sql/0013_lines_guard_share_lock.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0012_entry_indexes")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0013_lines_guard_share_lock.sql").read_text(),
                          (SQL_DIR / "0013_lines_guard_share_lock_reverse.sql").read_text()),
    ]
