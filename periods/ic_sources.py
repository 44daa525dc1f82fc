"""Open intercompany differences per entity and period, for the close dashboard.

The intercompany worklist belongs to consolidation, which sits above periods: consolidation/apps.py
registers the count here at start-up. Asking before it is registered raises rather than show a
clean column that was never looked at.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

IcCounter = Callable[..., dict[tuple[int, int], int]]
_counters: list[IcCounter] = []


def ic_open_counts_register(counter: IcCounter) -> None:
    _counters[:] = [counter]


def ic_open_counts(*, organisation_id: int, entity_ids: Iterable[int],
                   period_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """Worklist differences not yet resolved, per (entity id, period id), counted on both sides of each pair."""
    if not _counters:
        raise RuntimeError("No intercompany source registered: the consolidation app is not installed.")
    return _counters[0](organisation_id=organisation_id, entity_ids=list(entity_ids), period_ids=list(period_ids))
