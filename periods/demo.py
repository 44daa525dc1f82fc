"""Demo data for the close: a year whose first quarter is locked for every entity."""
from __future__ import annotations

from periods.models import PeriodLockSnapshot, PeriodState
from periods.services.close import entity_periods_move, entity_periods_resolve
from sheshi.tenancy.models import Organisation

DEMO_LOCKED_PERIODS = ("2026-01", "2026-02", "2026-03")


def lock_demo_periods(org: Organisation, *, actor=None) -> list[PeriodLockSnapshot]:
    """Lock Jan–Mar 2026 of every active entity through the services (snapshot and hash each),
    oldest period first. Periods already locked are left as they are, so it is safe to run twice."""
    for code in DEMO_LOCKED_PERIODS:
        eps = [ep for ep in entity_periods_resolve(organisation=org, period_code=code)
               if ep.state != PeriodState.LOCKED]
        if eps:
            entity_periods_move(actor=actor, entity_period_ids=[ep.pk for ep in eps], to=PeriodState.LOCKED,
                                reason="demo: first quarter closed")
    return list(PeriodLockSnapshot.objects.filter(entity_period__organisation=org,
                                                  entity_period__period__code__in=DEMO_LOCKED_PERIODS)
                .order_by("entity_period__period__start_date", "entity_period__entity_id"))
