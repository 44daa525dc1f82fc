"""Raw-SQL helpers for the audit tests (psycopg connections from the owner_sql/app_sql fixtures)."""
from __future__ import annotations

import contextlib

import psycopg


def set_raw_context(conn: psycopg.Connection, *, orgs: str | None = None, actor_label: str = "",
                    actor_id: str = "") -> None:
    """Scope and actor of a raw session. The web role cannot take the all-organisations scope ('*'
    is the system role's, tenancy migration 0006): it names its organisations (raw_org adds each
    one it creates); ``orgs=None`` leaves the scope as it is."""
    if orgs is not None:
        conn.execute("SELECT set_config('sheshi.org_ids', %s, false)", [orgs])
    conn.execute("SELECT set_config('sheshi.actor_label', %s, false), set_config('sheshi.actor_id', %s, false)",
                 [actor_label, actor_id])


def raw_org(conn: psycopg.Connection, code: str) -> int:
    """A new organisation, added to the session's scope first (row-level security checks the new
    row against the scope)."""
    org_id = conn.execute("SELECT nextval(pg_get_serial_sequence('tenancy_organisation', 'id'))").fetchone()[0]
    conn.execute("SELECT set_config('sheshi.org_ids', concat_ws(',', nullif(nullif("
                 "current_setting('sheshi.org_ids', true), ''), '*'), %s::text), false)"
                 " WHERE coalesce(current_setting('sheshi.org_ids', true), '') <> '*'", [org_id])
    conn.execute("INSERT INTO tenancy_organisation (id, code, name, group_currency, fiscal_year_start_month,"
                 " created_at, updated_at) VALUES (%s, %s, %s, 'EUR', 1, now(), now())",
                 [org_id, code, f"Org {code}"])
    return org_id


def raw_entities(conn: psycopg.Connection, org_id: int, n: int, prefix: str = "E") -> list[int]:
    rows = conn.execute(
        "INSERT INTO tenancy_entity (organisation_id, code, name, functional_currency, country, is_active,"
        " approval_required_sources, created_at, updated_at)"
        " SELECT %s, %s || g, 'Entity ' || g, 'EUR', 'DE', true, '[]'::jsonb, now(), now()"
        " FROM generate_series(1, %s) g RETURNING id", [org_id, prefix, n]).fetchall()
    return [r[0] for r in rows]


def events(conn: psycopg.Connection, where: str = "true", params: list | None = None) -> list[tuple]:
    return conn.execute(
        "SELECT organisation_id, action, object_type, object_id, changes, actor_label FROM audit_event"
        f" WHERE {where} ORDER BY id", params or []).fetchall()


def count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@contextlib.contextmanager
def rolled_back(conn: psycopg.Connection):
    """A transaction on a raw connection that is always rolled back (keeps the test database clean)."""
    with conn.transaction(force_rollback=True):
        yield
