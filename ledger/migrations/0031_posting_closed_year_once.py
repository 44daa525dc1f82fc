"""The posting rule finds a batch's closed fiscal years once per batch, not once per entry (issue
17). The function ships whole in ledger/sql/0031_posting_closed_year_once.sql; the reverse
restores 0027's."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0030_line_currency_check_most_traded_first")]

    operations = [migrations.RunSQL((SQL_DIR / "0031_posting_closed_year_once.sql").read_text(),
                                    (SQL_DIR / "0027_posting_recurring_source.sql").read_text())]
