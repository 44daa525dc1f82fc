"""The user's scope and the journal entry's history row, with plans kept for the session
(sheshi/tenancy/sql/0009_hot_entry_points.sql): same results, less database CPU per API posting."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def _previous(file: str, head: str) -> str:
    # Reverting restores each definition from its own released file rather than a second copy.
    text = (SQL_DIR / file).read_text()
    start = text.index(head)
    return text[start:text.index("$$;", start) + 3]


class Migration(migrations.Migration):

    dependencies = [
        ("tenancy", "0008_superuser_guard"),
    ]

    operations = [
        migrations.RunSQL(
            (SQL_DIR / "0009_hot_entry_points.sql").read_text(),
            _previous("0006_system_scope.sql", "CREATE OR REPLACE FUNCTION sheshi_user_scope_org_ids") + "\n"
            + _previous("0007_entry_points.sql", "CREATE OR REPLACE FUNCTION sheshi_history_append"),
        ),
    ]
