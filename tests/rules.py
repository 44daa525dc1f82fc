"""Raw SQL against the database rules, for the tests that attack them: run a statement as the test's
connection role and assert which named rule refused it."""
from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction


def raw(sql: str, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchall() if cur.description else None


def refused(rule: str, sql: str, params=None) -> str:
    """Run raw SQL in a savepoint and assert PostgreSQL refused it with ``rule``; return its message."""
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        raw(sql, params)
    diag = exc.value.__cause__.diag
    assert diag.constraint_name == rule, (diag.constraint_name, diag.message_primary)
    return diag.message_primary
