"""What the database checks itself about the acting user (sheshi_actor_may), an entity's
organisation fixed for life, per-entity grants only by role managers to members, and honest
history rows (sheshi/tenancy/sql/0004_trust.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0003_history_rls"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0004_trust.sql").read_text(), (SQL_DIR / "0004_trust_reverse.sql").read_text()),
    ]
