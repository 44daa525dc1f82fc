"""Permission, membership and history tables are written only through owner-owned entry points
(sheshi/tenancy/sql/0007_entry_points.sql); the application's roles keep SELECT on them
(sheshi/db/roles.py)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"



def _previous_grant_guard() -> str:
    # Reverting restores the definition from 0004's own file rather than a second copy of it.
    text = (SQL_DIR / "0004_trust.sql").read_text()
    start = text.index("CREATE OR REPLACE FUNCTION tenancy_permission_grant_guard")
    return text[start:text.index("$$;", start) + 3]


REVERSE_SQL = """
DROP FUNCTION IF EXISTS sheshi_user_groups_set(bigint, integer[]);
DROP FUNCTION IF EXISTS sheshi_history_record(text, bigint[], text, bigint, text);
DROP FUNCTION IF EXISTS sheshi_history_append(text, jsonb);
DROP FUNCTION IF EXISTS sheshi_history_table(text);
DROP FUNCTION IF EXISTS tenancy_membership_remove(bigint, bigint);
DROP FUNCTION IF EXISTS tenancy_membership_set(bigint, bigint, boolean, boolean);
DROP FUNCTION IF EXISTS tenancy_entity_permission_revoke(bigint, text[], bigint, integer);
DROP FUNCTION IF EXISTS tenancy_entity_permission_grant(bigint, text[], bigint, integer);
DROP FUNCTION IF EXISTS tenancy_entity_permission_id(text);
DROP FUNCTION IF EXISTS tenancy_grantable_entity(bigint);
DROP FUNCTION IF EXISTS sheshi_actor_manages_org(bigint);
DROP FUNCTION IF EXISTS sheshi_in_scope(bigint);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("tenancy", "0006_system_scope"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunSQL((SQL_DIR / "0007_entry_points.sql").read_text(), REVERSE_SQL + _previous_grant_guard()),
    ]
