"""The posting trigger reads its transition table and checks lines in one pass
(ledger/sql/0010_posting_set_based.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0009_history_indexes")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0010_posting_set_based.sql").read_text(),
                          (SQL_DIR / "0010_posting_set_based_reverse.sql").read_text()),
    ]
