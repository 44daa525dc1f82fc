"""The system's powers need the system's credentials (issue #14 item 6): the all-organisations
scope and the privilege-free "system" actor are honoured only for a session of the role
``sheshi_system`` (sheshi/tenancy/sql/0006_system_scope.sql)."""
from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql"


def _previous_actor_may() -> str:
    # Reverting restores the definition from 0004's own file rather than a second copy of it.
    text = (SQL / "0004_trust.sql").read_text()
    start = text.index("CREATE OR REPLACE FUNCTION sheshi_actor_may")
    return text[start:text.index("$$;", start) + 3]


PREVIOUS_SQL = """
CREATE OR REPLACE FUNCTION sheshi_scope_all() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(current_setting('sheshi.org_ids', true), '') = '*'
$$;
DROP FUNCTION IF EXISTS sheshi_user_scope_org_ids(bigint);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("tenancy", "0005_segregation_policies"),
    ]

    operations = [
        migrations.RunSQL(
            (SQL / "0006_system_scope.sql").read_text(),
            PREVIOUS_SQL + _previous_actor_may() + "\nDROP FUNCTION IF EXISTS sheshi_session_is_system();",
        ),
    ]
