"""The poster of an entry is not its preparer, when the organisation's policy says so (issue #15
item 4, ledger/sql/0020_poster_not_preparer.sql)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0019_import_rows_hash"), ("tenancy", "0005_segregation_policies")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0020_poster_not_preparer.sql").read_text(),
                          (SQL_DIR / "0020_poster_not_preparer_reverse.sql").read_text()),
    ]
