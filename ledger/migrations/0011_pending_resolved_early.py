"""Lines written before their entry are cleared when the entry is inserted, not re-checked at
commit (ledger/sql/0011_pending_resolved_early.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0010_posting_set_based")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0011_pending_resolved_early.sql").read_text(),
                          (SQL_DIR / "0011_pending_resolved_early_reverse.sql").read_text()),
    ]
