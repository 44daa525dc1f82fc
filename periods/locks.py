"""Named row locks on period rows. Order across apps: period -> entry -> balances (ledger/locks.py
takes the entry locks after these)."""
from __future__ import annotations

from django.db import connection

from periods.models import EntityPeriod


def entity_period_share_lock(*, entity_id: int, period_id: int) -> str | None:
    """FOR SHARE on the entity-period row: postings run side by side while a lock (FOR UPDATE)
    waits for them. Returns the state seen under the lock, or None when the row is missing."""
    with connection.cursor() as cur:
        cur.execute("SELECT state FROM periods_entityperiod WHERE entity_id = %s AND period_id = %s FOR SHARE",
                    [entity_id, period_id])
        row = cur.fetchone()
    return row[0] if row else None


def entity_periods_for_update():
    """FOR UPDATE on entity-period rows only (not the entity and period rows a select_related
    joins): a state change waits for the postings holding FOR SHARE, and nothing else."""
    return EntityPeriod.objects.select_for_update(of=("self",))
