"""ledger_analyze_if_grown analyses the line table on the columns the posting's plans use (was:
every column). The function ships whole in ledger/sql/0032_analyze_planning_columns.sql; the
reverse restores 0028's."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0031_posting_closed_year_once")]

    operations = [migrations.RunSQL((SQL_DIR / "0032_analyze_planning_columns.sql").read_text(),
                                    (SQL_DIR / "0028_analyze_when_doubled.sql").read_text())]
