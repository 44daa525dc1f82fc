"""The posting rule and the lines guard read a batch's lines and entries by index range over runs
of consecutive ids, the posting rule checks the lines in one hashed pass, running 0031's exact
query only to name an entry at fault, and the reference check clears a bulk batch's pending line
check by a range test (issue 18). The functions ship whole in ledger/sql/0034_*.sql; the reverse
restores 0031's, 0013's and 0011's (that one function alone: 0034_pending_cleared_by_range_reverse.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0033_bulk_stage_clear")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0034_posting_lines_by_range.sql").read_text(),
                          (SQL_DIR / "0031_posting_closed_year_once.sql").read_text()),
        # 0013's text predates the search-path pin (consolidation 0006): the reverse pins it again.
        migrations.RunSQL((SQL_DIR / "0034_lines_guard_by_range.sql").read_text(),
                          [(SQL_DIR / "0013_lines_guard_share_lock.sql").read_text(),
                           "ALTER FUNCTION ledger_lines_guard() SET search_path = pg_catalog, public, pg_temp"]),
        migrations.RunSQL((SQL_DIR / "0034_pending_cleared_by_range.sql").read_text(),
                          (SQL_DIR / "0034_pending_cleared_by_range_reverse.sql").read_text()),
    ]
