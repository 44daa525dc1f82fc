"""A calendar that never moves, entity-periods that start open, and period moves checked against
the acting user's grants in the database (periods/sql/0006_trust.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("periods", "0005_history_rls"), ("tenancy", "0004_trust")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0006_trust.sql").read_text(), (SQL_DIR / "0006_trust_reverse.sql").read_text()),
    ]
