from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_line_indexes_and_analyze")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0007_functional_rate_rule.sql").read_text(),
                          (SQL_DIR / "0007_functional_rate_rule_reverse.sql").read_text()),
    ]
