"""Helpers for period tests: a state fingerprint for "nothing changed" assertions."""
from __future__ import annotations

from decimal import Decimal

from ledger.models import Balance, JournalEntry, JournalLine
from periods.models import (
    AccountReconciliation,
    ChecklistTask,
    EntityPeriod,
    GroupPeriodLock,
    LockOverride,
    PeriodLockSnapshot,
)
from tests.rules import raw


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
                                                                              "pinned_closing_balance")),
    }


def raw_post_sale(world, amount: str, account: str = "1200", period: str = "2026-03") -> int:
    """Post an entry with raw SQL as the application's role (the posting trigger keeps balances)."""
    (entry_id,) = raw("""
        INSERT INTO ledger_journalentry (organisation_id, entity_id, period_id, entry_date, description, source,
            status, created_at, request_hash)
        VALUES (%s, %s, %s, %s, 'raw', 'manual', 'draft', now(), '') RETURNING id""",
                      [world.org.pk, world.entity.pk, world.period(period).pk, world.period(period).end_date])[0]
    for no, (acc, amt) in enumerate([(account, Decimal(amount)), ("4100", -Decimal(amount))], start=1):
        raw("""INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
                   currency, amount, rate, functional_amount, dimensions, memo, source_raw)
               VALUES (%s, %s, %s, %s, %s, %s, 'EUR', %s, 1, %s, '{}', '', '')""",
            [world.org.pk, world.entity.pk, world.period(period).pk, entry_id, no, world.acc(acc), amt, amt])
    raw("UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = %s", [entry_id])
    return entry_id
