"""Raw-SQL helpers for the audit tests (psycopg connections from the owner_sql/app_sql fixtures)."""
from __future__ import annotations

import contextlib

import psycopg


def set_raw_context(conn: psycopg.Connection, *, orgs: str = "*", actor_label: str = "", actor_id: str = "") -> None:
    conn.execute("SELECT set_config('sheshi.org_ids', %s, false), set_config('sheshi.actor_label', %s, false),"
                 " set_config('sheshi.actor_id', %s, false)", [orgs, actor_label, actor_id])


def raw_org(conn: psycopg.Connection, code: str) -> int:
    return conn.execute("INSERT INTO tenancy_organisation (code, name, group_currency, fiscal_year_start_month,"
                        " created_at, updated_at) VALUES (%s, %s, 'EUR', 1, now(), now()) RETURNING id",
                        [code, f"Org {code}"]).fetchone()[0]


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
