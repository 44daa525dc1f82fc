"""Privileges of the application's database role, re-applied after every migrate.

Migrations run as the schema owner. The application's role (SHESHI_APP_DB_ROLE) owns nothing,
so it can neither disable triggers nor row-level security, and it gets only the rights it needs:
DML on ordinary tables, INSERT/SELECT only on append-only ones (audit log), and SELECT only on the
tables owner functions write: permission grants, memberships, group membership and every
simple-history table go through the entry points of sheshi/tenancy/sql/0007_entry_points.sql.
The jobs role (sheshi_jobs) is a member of the app role and has no rights of its own.
"""
from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models.signals import post_migrate
from django.dispatch import receiver

# Tables the app may only read and append to. Apps add theirs at import time.
APPEND_ONLY_TABLES: set[str] = set()
# Tables the app may only read: PostgreSQL functions owned by the schema owner write them. Apps
# add theirs in ready() (ledger balances, lock snapshots). Guardian's generic tables are unused:
# Sheshi grants through the direct-FK tables on Entity (tenancy). Those, memberships and a user's
# groups (a group's entity grants reach its members) are written by the entry points of
# sheshi/tenancy/sql/0007_entry_points.sql, which check who is acting; so are the simple-history
# tables (HISTORY_TABLE_PATTERN), through sheshi/history.py.
READ_ONLY_TABLES: set[str] = {
    "guardian_userobjectpermission", "guardian_groupobjectpermission",
    "tenancy_entityuserobjectpermission", "tenancy_entitygroupobjectpermission", "tenancy_membership",
    "auth_user_groups",
}
HISTORY_TABLE_PATTERN = "%\\_historical%"


def register_append_only(*tables: str) -> None:
    APPEND_ONLY_TABLES.update(tables)


def register_read_only(*tables: str) -> None:
    READ_ONLY_TABLES.update(tables)


def grant_app_privileges(using_connection=connection) -> None:
    role = settings.SHESHI_APP_DB_ROLE
    if not role:
        return
    with using_connection.cursor() as cur:
        cur.execute("SELECT current_user, session_user")
        if role in cur.fetchone():
            return  # a single-role deployment: nothing to grant
        q = using_connection.ops.quote_name(role)
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {q}")
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {q}")
        cur.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {q}")
        cur.execute(f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {q}")
        # No temporary tables: one named like a guarded table would shadow it (sheshi/db/hardening.py).
        cur.execute("SELECT current_database()")
        database = using_connection.ops.quote_name(cur.fetchone()[0])
        cur.execute(f"REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC, {q}")
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(%s)",
                    [sorted(APPEND_ONLY_TABLES)])
        for (table,) in cur.fetchall():
            cur.execute(f"REVOKE UPDATE, DELETE ON {using_connection.ops.quote_name(table)} FROM {q}")
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND (tablename = ANY(%s) OR tablename LIKE %s)",
                    [sorted(READ_ONLY_TABLES), HISTORY_TABLE_PATTERN])
        for (table,) in cur.fetchall():
            cur.execute(f"REVOKE INSERT, UPDATE, DELETE ON {using_connection.ops.quote_name(table)} FROM {q}")


@receiver(post_migrate)
def _grant_after_migrate(sender, app_config, using="default", **kwargs):
    # post_migrate fires once per app; granting after the last one is enough, but the statements
    # are idempotent and cheap, so run for our own app only.
    if app_config.label == "tenancy":
        from django.db import connections

        grant_app_privileges(connections[using])


def use_owner_credentials(alias: str = "default") -> dict:
    """Point a connection alias at the schema owner's credentials; returns the previous settings
    so the caller can switch back (used by migrate and by the test database set-up)."""
    from django.db import connections

    conn = connections[alias]
    owner = settings.OWNER_DATABASE
    keys = ("USER", "PASSWORD", "HOST", "PORT")
    previous = {k: conn.settings_dict.get(k) for k in keys}
    conn.close()
    conn.settings_dict.update({k: owner.get(k) for k in keys})
    return previous


def restore_credentials(previous: dict, alias: str = "default") -> None:
    from django.db import connections

    conn = connections[alias]
    conn.close()
    conn.settings_dict.update(previous)
