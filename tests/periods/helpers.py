"""Helpers for period tests: a state fingerprint for "nothing changed" assertions."""
from __future__ import annotations

from django.db import DatabaseError, connection, transaction

from ledger.models import Balance, JournalEntry, JournalLine
from periods.models import (
    AccountReconciliation,
    ChecklistTask,
    EntityPeriod,
    GroupPeriodLock,
    LockOverride,
    PeriodLockSnapshot,
)


def state() -> dict:
    """Everything a period move or a refused write could touch."""
    return {
        "entity_periods": list(EntityPeriod.objects.order_by("pk").values_list("pk", "state", "reason", "changed_at")),
        "snapshots": list(PeriodLockSnapshot.objects.order_by("pk").values_list("pk", "sha256")),
        "overrides": list(LockOverride.objects.order_by("pk").values_list("pk", "reason")),
        "group_locks": list(GroupPeriodLock.objects.order_by("pk").values_list("pk", "group_key")),
        "entries": list(JournalEntry.objects.order_by("pk").values_list("pk", "status", "source")),
        "lines": list(JournalLine.objects.order_by("pk").values_list("pk", "functional_amount")),
        "balances": list(Balance.objects.order_by("pk").values_list("pk", "functional_debit", "functional_credit")),
        "tasks": list(ChecklistTask.objects.order_by("pk").values_list("pk", "status")),
        "recs": list(AccountReconciliation.objects.order_by("pk").values_list("pk", "status",
                                                                              "pinned_functional_net")),
    }


def raw(sql: str, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchall() if cur.description else None


def refused(rule: str, sql: str, params=None) -> str:
    """Run raw SQL (as the application's role) in a savepoint; assert PostgreSQL refused it with ``rule``."""
    import pytest

    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        raw(sql, params)
    diag = exc.value.__cause__.diag
    assert diag.constraint_name == rule, (diag.constraint_name, diag.message_primary)
    return diag.message_primary
