"""Named row locks of the consolidation app, in the order group -> run -> worklist rows."""
from __future__ import annotations

from consolidation.models import ConsolidationGroup, IcDifference


def group_for_update():
    """The group row: serialises a group's run postings, worklist refreshes and period locks."""
    return ConsolidationGroup.objects.select_for_update(no_key=True, of=("self",))


def ic_differences_for_update():
    """Worklist rows, taken in primary-key order by the callers that lock several."""
    return IcDifference.objects.select_for_update(no_key=True, of=("self",)).order_by("pk")
