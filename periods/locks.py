"""Named row locks on period rows. Order across apps: period -> entry -> balances (ledger/locks.py
takes the entry locks after these). Each helper locks only its own table's rows (``of=("self",)``)
in the weakest mode that keeps its rule:

- FOR SHARE on an entity-period by every write into the period (postings, close tasks,
  reconciliations): they run side by side, and a state change waits for them;
- FOR NO KEY UPDATE by a state change: it conflicts with FOR SHARE, so it waits for the writes in
  flight and they wait for it, but not with the FOR KEY SHARE of rows merely referencing it;
- FOR UPDATE only for a row that is deleted."""
from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from periods.models import AccountReconciliation, ChecklistTask, EntityPeriod, GroupPeriodLock


def entity_period_share_lock(*, entity_id: int, period_id: int) -> str | None:
    """FOR SHARE on the entity-period row: postings run side by side while a lock (FOR NO KEY
    UPDATE) waits for them. Returns the state seen under the lock, or None when the row is missing."""
    with connection.cursor() as cur:
        cur.execute("SELECT state FROM periods_entityperiod WHERE entity_id = %s AND period_id = %s FOR SHARE",
                    [entity_id, period_id])
        row = cur.fetchone()
    return row[0] if row else None


def entity_periods_share_lock(*, entity_ids: Sequence[int], period_id: int) -> dict[int, str]:
    """FOR SHARE on several entities' rows of one period, in id order: their states cannot change
    until commit (a group lock recorded against them). Returns entity id -> state."""
    with connection.cursor() as cur:
        cur.execute("""SELECT ep.entity_id, ep.state FROM periods_entityperiod ep
                        WHERE ep.entity_id = ANY(%s) AND ep.period_id = %s ORDER BY ep.id FOR SHARE""",
                    [list(entity_ids), period_id])
        return dict(cur.fetchall())


def entity_periods_for_update():
    """FOR NO KEY UPDATE on entity-period rows only (not the entity and period rows a select_related
    joins): a state change (or the year-end close holding its year) waits for the writes holding
    FOR SHARE, and nothing else; the row's key never changes."""
    return EntityPeriod.objects.select_for_update(no_key=True, of=("self",))


def checklist_tasks_for_update():
    """FOR NO KEY UPDATE: a task's status, owner and sign-offs change, never its key; comments
    referencing it (FOR KEY SHARE) are not held up."""
    return ChecklistTask.objects.select_for_update(no_key=True, of=("self",))


def reconciliations_for_update():
    """FOR NO KEY UPDATE: the figures and signatures change, never the key; items and evidence
    referencing the reconciliation are written by the holder itself."""
    return AccountReconciliation.objects.select_for_update(no_key=True, of=("self",))


def group_period_locks_for_delete():
    """FOR UPDATE: unlocking deletes the row, which takes FOR UPDATE anyway; taken up front so two
    unlocks of the same group and period serialise before their checks."""
    return GroupPeriodLock.objects.select_for_update(of=("self",))
