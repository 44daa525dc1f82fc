"""What an anchor records, read from the database: each organisation's chain head and each
simple-history table's row count and highest id.

Both only ever grow while nobody tampers (events and history rows are append-only), so each
figure is a lower bound the database must still reach later; that is why they are read one
statement at a time at READ COMMITTED rather than in one snapshot. Needs the all-organisations
scope (system_context): row-level security would hide other organisations' rows.
"""
from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from django.db import connection

from audit.models import ORG_PLATFORM, PLATFORM_CODE

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def chain_heads() -> list[dict[str, Any]]:
    """Every organisation's head: seq (= count, the chain is gap-free), last event id, hash."""
    with connection.cursor() as cur:
        cur.execute("SELECT h.organisation_id, o.code, h.seq, h.event_id, h.hash FROM audit_chain_head h"
                    " LEFT JOIN tenancy_organisation o ON o.id = h.organisation_id ORDER BY h.organisation_id")
        rows = cur.fetchall()
    return [{"organisation_id": org_id,
             "org": code or (PLATFORM_CODE if org_id == ORG_PLATFORM else f"#{org_id}"),
             "seq": seq, "count": seq, "last_event_id": event_id, "head_hash": head_hash}
            for org_id, code, seq, event_id, head_hash in rows]


def history_tables() -> list[tuple[str, str]]:
    """(table, primary key column) of every simple-history model."""
    from simple_history.models import HistoricalChanges

    return sorted((m._meta.db_table, m._meta.pk.column) for m in apps.get_models()
                  if issubclass(m, HistoricalChanges))


def table_figures(table: str, pk: str) -> tuple[int, int | None] | None:
    """(row count, highest id) of ``table``; None when the table does not exist.

    The names may come from an anchor file: only plain lower-case identifiers are accepted
    (ValueError otherwise), as quote_name does not escape a double quote inside a name."""
    if not (IDENTIFIER.match(table) and IDENTIFIER.match(pk)):
        raise ValueError(f"not a plain table/column name: {table!r}.{pk!r}")
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        if not cur.fetchone()[0]:
            return None
        # Identifiers checked above; they cannot be bound as parameters.
        cur.execute(f'SELECT count(*), max("{pk}") FROM "{table}"')  # nosec B608
        rows, max_id = cur.fetchone()
    return rows, max_id


def history_figures() -> list[dict[str, Any]]:
    figures = []
    for table, pk in history_tables():
        found = table_figures(table, pk)
        if found is not None:
            figures.append({"table": table, "pk": pk, "rows": found[0], "max_id": found[1]})
    return figures
