"""Lock snapshots checked against the books: the trial balance a period had when it was locked
(taken by the database in the locking statement, ledger/sql/0016_lock_snapshot.sql) against the
balances now. Reads use ``read_alias()``: the primary, or the snapshot an evidence archive pinned."""
from __future__ import annotations

import hashlib
import json

from django.db import connections

from periods.models import EntityPeriod, PeriodLockSnapshot
from sheshi.db.replica import read_alias
from sheshi.errors import NotFound


def trial_balance_rows(*, entity_id: int, period_id: int) -> list[list[str]]:
    """The entity-period's balances as canonical rows: account code, currency, net amount in the
    transaction currency, net functional amount — sorted, as strings, for hashing."""
    with connections[read_alias()].cursor() as cur:
        cur.execute("""
            SELECT a.code, b.currency, b.amount::text, (b.functional_debit - b.functional_credit)::text,
                   b.line_count
              FROM ledger_balance b JOIN ledger_account a ON a.id = b.account_id
             WHERE b.entity_id = %s AND b.period_id = %s
             ORDER BY a.code, b.currency""", [entity_id, period_id])
        return [list(r) for r in cur.fetchall()]


def snapshot_hash(rows: list[list]) -> str:
    return hashlib.sha256(json.dumps(rows, separators=(",", ":"), default=str).encode()).hexdigest()


def lock_snapshot_verify(*, entity_period_id: int) -> tuple[bool, str, str]:
    """Recompute the locked figures now and compare with the snapshot taken when the period was
    last locked. Only the database writes snapshots, one per move into 'locked', so the latest
    is the one of the lock in force (snapshots of earlier locks describe figures a reopen was
    allowed to change)."""
    snaps = PeriodLockSnapshot.objects.using(read_alias()).filter(entity_period_id=entity_period_id)
    snap = snaps.order_by("-pk").first()
    if snap is None:
        raise NotFound("No lock snapshot for this period.")
    ep = EntityPeriod.objects.using(read_alias()).get(pk=entity_period_id)
    now = snapshot_hash(trial_balance_rows(entity_id=ep.entity_id, period_id=ep.period_id))
    return now == snap.sha256, snap.sha256, now
