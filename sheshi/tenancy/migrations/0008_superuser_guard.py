"""Only the system or an acting superuser may make or unmake a superuser
(sheshi/tenancy/sql/0008_superuser_guard.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

REVERSE_SQL = """
DROP TRIGGER IF EXISTS sheshi_superuser_flag_guard ON auth_user;
DROP FUNCTION IF EXISTS sheshi_superuser_flag_guard();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("tenancy", "0007_entry_points"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunSQL((SQL_DIR / "0008_superuser_guard.sql").read_text(), REVERSE_SQL),
    ]
