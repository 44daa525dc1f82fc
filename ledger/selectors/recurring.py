"""Reads for recurring journal entries (issue 16): which period each organisation generates for."""
from __future__ import annotations

from datetime import date

from periods.models import Period


def recurring_periods(*, organisation_ids=None, period_code: str | None = None, today: date) -> list[Period]:
    """Per organisation (all, or ``organisation_ids``): its monthly period coded ``period_code``,
    or by default the one containing ``today``. An organisation without such a period is left out."""
    qs = Period.objects.filter(number__lte=12).select_related("organisation")
    if organisation_ids is not None:
        qs = qs.filter(organisation_id__in=organisation_ids)
    qs = qs.filter(code=period_code) if period_code else qs.filter(start_date__lte=today, end_date__gte=today)
    return list(qs.order_by("organisation_id", "start_date"))
