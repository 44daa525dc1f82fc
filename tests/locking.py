"""Locking in the order PostgreSQL requires (periods/sql/0007_close_order.sql): an entity's
periods lock oldest first. Tests that need "March locked" lock January and February first, as a
controller closing the year would."""
from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from periods.models import EntityPeriod, PeriodState
from periods.services.transitions import entity_period_lock


def earlier_unlocked(entity_period_id: int) -> list[EntityPeriod]:
    ep = EntityPeriod.objects.select_related("period").get(pk=entity_period_id)
    p = ep.period
    return list(EntityPeriod.objects.filter(entity_id=ep.entity_id).exclude(state=PeriodState.LOCKED)
                .filter(Q(period__start_date__lt=p.start_date) | Q(period__start_date=p.start_date,
                                                                   period__number__lt=p.number))
                .order_by("period__start_date", "period__number"))


def lock_through(*, actor, entity_period_id: int, **kwargs):
    """Lock every earlier unlocked period of the entity (as the system), then this one with the
    given actor and arguments, all or nothing (a refused lock leaves the earlier months as they
    were); returns this lock's snapshot."""
    with transaction.atomic():
        for ep in earlier_unlocked(entity_period_id):
            entity_period_lock(actor=None, entity_period_id=ep.pk)
        return entity_period_lock(actor=actor, entity_period_id=entity_period_id, **kwargs)
