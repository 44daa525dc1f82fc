"""The entity-period guard refuses a state outside the three instead of listing all six moves
between them (issue #20, periods/sql/0009_state_values.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("periods", "0008_close_workspace")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0009_state_values.sql").read_text(),
                          (SQL_DIR / "0009_state_values_reverse.sql").read_text()),
    ]
