"""Named row locks, always taken in the same order: period → entry → balances."""
from __future__ import annotations

from django.db import connection

from ledger.models import JournalEntry


def entity_period_share_lock(*, entity_id: int, period_id: int) -> str | None:
    """FOR SHARE on the entity-period row: postings run side by side while a lock (FOR UPDATE)
    waits for them. Returns the state seen under the lock, or None when the row is missing."""
    with connection.cursor() as cur:
        cur.execute("SELECT state FROM periods_entityperiod WHERE entity_id = %s AND period_id = %s FOR SHARE",
                    [entity_id, period_id])
        row = cur.fetchone()
    return row[0] if row else None


def journal_entries_for_update():
    return JournalEntry.objects.select_for_update(no_key=True, of=("self",))
