"""Named row locks of the consolidation app, in the order group -> run -> worklist rows. Each
locks only its own table's rows (``of=("self",)``) with FOR NO KEY UPDATE: the rows change but
keep their keys, so rows that merely reference them (FOR KEY SHARE: a new run of the group, a
comment on a difference) are not held up."""
from __future__ import annotations

from consolidation.models import ConsolidationGroup, ConsolidationRun, IcDifference


def group_for_update():
    """The group row: serialises a group's run postings, worklist refreshes and period locks.
    FOR NO KEY UPDATE: setting the elimination ledger once (a unique column) upgrades the lock
    in that one statement; nothing else about the group changes."""
    return ConsolidationGroup.objects.select_for_update(no_key=True, of=("self",))


def runs_for_update():
    """A run moving between states (queued, running, succeeded or failed): its status, progress
    and results change, never its key."""
    return ConsolidationRun.objects.select_for_update(no_key=True, of=("self",))


def ic_differences_for_update():
    """Worklist rows, taken in primary-key order by the callers that lock several. Their status
    and amounts change, never their key."""
    return IcDifference.objects.select_for_update(no_key=True, of=("self",)).order_by("pk")
