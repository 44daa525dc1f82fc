"""Lines that joined an entry another transaction posted meanwhile are refused at commit
(ledger/sql/0015_pending_entry_posted_elsewhere.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0014_history_rls")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0015_pending_entry_posted_elsewhere.sql").read_text(),
                          (SQL_DIR / "0015_pending_entry_posted_elsewhere_reverse.sql").read_text()),
    ]
