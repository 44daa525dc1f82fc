"""ledger_analyze_if_grown analyses only when a batch at least doubles the line table (was: more
than a fifth of it). The function ships whole in ledger/sql/0028_analyze_when_doubled.sql; the
reverse restores 0006's, with the search path pinned as sheshi/db/hardening.py pins it since."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

PINNED = "SET search_path = pg_catalog, public, pg_temp AS"
REVERSE = (SQL_DIR / "0006_analyze.sql").read_text().replace("SET search_path = pg_catalog, public AS", PINNED)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0027_recurrence_stop_and_source")]

    operations = [migrations.RunSQL((SQL_DIR / "0028_analyze_when_doubled.sql").read_text(), REVERSE)]
