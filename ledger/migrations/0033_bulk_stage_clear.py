"""ledger_bulk_stage_clear: the bulk path empties its staging tables between the chunks of a
batch (ledger/sql/0033_bulk_stage_clear.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0032_analyze_planning_columns")]

    operations = [migrations.RunSQL((SQL_DIR / "0033_bulk_stage_clear.sql").read_text(),
                                    (SQL_DIR / "0033_bulk_stage_clear_reverse.sql").read_text())]
