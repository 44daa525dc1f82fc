"""Migration operations that put a table under the audit trail.

    from audit.operations import attach_audit
    operations = [attach_audit("ledger_account")]

The table then refuses any write made with no actor set, refuses TRUNCATE, and records every
INSERT/UPDATE/DELETE statement in audit_event through the statement-level trigger
``audit_capture()`` (audit/sql/0002_core.sql): one event per row up to ``summary_threshold`` rows
per statement, one summary event per organisation above it. A migration that uses it depends on
``("audit", "0002_core")`` or later.
"""
from __future__ import annotations

import re

from django.db import migrations

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
TRIGGERS = ("audit_require_actor", "audit_refuse_truncate", "audit_capture_insert", "audit_capture_update",
            "audit_capture_delete")
# Names a development database may carry from a short-lived revision of 0004; dropped on reverse too.
_OLD_TRIGGERS = tuple(f"z_{t}" for t in TRIGGERS)


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def attach_audit_sql(table: str, *, object_type: str | None = None, org_column: str = "organisation_id",
                     org_via: str = "", summary_threshold: int = 100, pk: str = "id",
                     operations: tuple[str, ...] = ("insert", "update", "delete"),
                     refuse_truncate: bool = True) -> tuple[str, str]:
    """The SQL (and its reverse) that attaches the audit triggers to ``table``.

    ``org_column`` names the column holding the organisation id; with ``org_via="entity"`` it holds
    an entity id and the organisation is looked up through tenancy_entity. ``pk`` must be an
    integer column (summaries record id ranges). ``operations`` narrows what is captured (and
    what needs an actor): an append-only table whose own triggers refuse UPDATE, DELETE and
    TRUNCATE is attached with ``operations=("insert",), refuse_truncate=False`` so those refusals
    keep their specific error (the actor check is a statement trigger and would fire first)."""
    table = _ident(table)
    _ident(org_column)
    _ident(pk)
    if org_via not in ("", "entity"):
        raise ValueError("org_via must be '' or 'entity'")
    if summary_threshold < 0:
        raise ValueError("summary_threshold must be >= 0")
    if not operations or not set(operations) <= {"insert", "update", "delete"}:
        raise ValueError("operations must be a non-empty subset of insert, update, delete")
    args = ", ".join(_literal(a) for a in (object_type or table, str(int(summary_threshold)), pk, org_column, org_via))
    ops = [op for op in ("insert", "update", "delete") if op in operations]
    transition = {"insert": "REFERENCING NEW TABLE AS new_rows",
                  "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
                  "delete": "REFERENCING OLD TABLE AS old_rows"}
    statements = [
        f"CREATE TRIGGER audit_require_actor BEFORE {' OR '.join(op.upper() for op in ops)} ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_require_actor();",
    ] + ([
        f"CREATE TRIGGER audit_refuse_truncate BEFORE TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();",
    ] if refuse_truncate else []) + [
        f"CREATE TRIGGER audit_capture_{op} AFTER {op.upper()} ON {table} {transition[op]}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION audit_capture({args});"
        for op in ops
    ]
    reverse = "\n".join(f"DROP TRIGGER IF EXISTS {t} ON {table};" for t in TRIGGERS + _OLD_TRIGGERS)
    return "\n".join(statements), reverse


def attach_audit(table: str, **options) -> migrations.RunSQL:
    """Migration operation: see attach_audit_sql for the options."""
    sql, reverse = attach_audit_sql(table, **options)
    return migrations.RunSQL(sql, reverse)
