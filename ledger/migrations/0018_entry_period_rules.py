"""Entries and their period, whatever their status: dated inside it, never written into a
locked one; a period locks only with every entry posted or void (issue #15,
ledger/sql/0018_entry_period_rules.sql). The rule that nothing posts before a locked period is
in the posting function of 0016."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0017_entry_void"), ("periods", "0007_close_order")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0018_entry_period_rules.sql").read_text(),
                          (SQL_DIR / "0018_entry_period_rules_reverse.sql").read_text()),
    ]
