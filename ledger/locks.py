"""Named row locks of the ledger, always taken in the same order: period (periods/locks.py) → entry →
balances."""
from __future__ import annotations

from ledger.models import JournalEntry


def journal_entries_for_update():
    return JournalEntry.objects.select_for_update(no_key=True, of=("self",))
