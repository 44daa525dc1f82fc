"""Periods lock oldest first and reopen newest first, per entity (issue #15,
periods/sql/0007_close_order.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("periods", "0006_trust")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0007_close_order.sql").read_text(),
                          (SQL_DIR / "0007_close_order_reverse.sql").read_text()),
    ]
