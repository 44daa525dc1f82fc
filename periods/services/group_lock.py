"""A consolidation group's period lock. Its one caller outside the tests is
consolidation.services (consolidation_group_period_lock / _unlock, reached from the API's worklist
and the consolidation admin), which passes the group's members at the period's end and the group's
code as ``group_key``.

The group locks only once every member's entity-period is locked; the members' rows are held
FOR SHARE while the lock is recorded, so no member can be reopened in between, and a PostgreSQL
trigger re-checks the same rule on insert and refuses a member's reopen while the group lock
stands."""
from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction

from periods import locks
from periods.errors import GroupMembersNotLockedError, PeriodStateError, ReasonRequiredError
from periods.models import EntityPeriod, GroupPeriodLock, Period, PeriodState
from sheshi.access.roles import CLOSE, REOPEN
from sheshi.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from sheshi.tenancy.models import Entity


def _require_all(actor, perm: str, entities: list[Entity]) -> None:
    if actor is None or actor.is_superuser:
        return
    missing = [e.code for e in entities if not actor.has_perm(perm, e)]
    if missing:
        raise PermissionDenied(f"You need '{perm.split('.')[1]}' on {', '.join(missing)}.")


def default_group_key(entity_ids: Sequence[int]) -> str:
    return "entities:" + ",".join(str(i) for i in sorted(set(entity_ids)))


@transaction.atomic
def group_period_lock(actor, entity_ids: Sequence[int], period_id: int, *,
                      group_key: str | None = None) -> GroupPeriodLock:
    """Record that the group made of ``entity_ids`` has locked ``period_id``. Refused unless every
    member's entity-period is locked (held FOR SHARE until commit). ``group_key`` names the group
    (the consolidation app passes its group's code); by default the sorted member ids."""
    ids = sorted({int(i) for i in entity_ids})
    if not ids:
        raise ValidationFailed("A group needs at least one member.", errors=[FieldError("entity_ids", "Empty.")])
    period = Period.objects.filter(pk=period_id).first()
    if period is None:
        raise NotFound(f"Period {period_id} not found.")
    entities = list(Entity.objects.filter(pk__in=ids, organisation_id=period.organisation_id))
    if len(entities) != len(ids):
        raise NotFound("Some members are not entities of the period's organisation.")
    _require_all(actor, CLOSE, entities)
    states = locks.entity_periods_share_lock(entity_ids=ids, period_id=period_id)
    codes = {e.pk: e.code for e in entities}
    not_locked = [i for i in ids if states.get(i) != PeriodState.LOCKED]
    if not_locked:
        raise GroupMembersNotLockedError(
            f"{len(not_locked)} member(s) not locked for {period.code}: "
            + ", ".join(f"{codes[i]} ({states.get(i, 'no period')})" for i in not_locked),
            errors=[FieldError("entity_ids", f"{codes[i]} is {states.get(i, 'without this period')}.",
                               code="not_locked", value=codes[i]) for i in not_locked])
    key = group_key or default_group_key(ids)
    try:
        with transaction.atomic():
            return GroupPeriodLock.objects.create(organisation_id=period.organisation_id, group_key=key,
                                                  period=period, entity_ids=ids, locked_by=actor)
    except IntegrityError as exc:
        if "group_period_lock_unique" in str(exc):
            raise PeriodStateError(f"Group {key} has already locked {period.code}.",
                                   code="group_already_locked") from exc
        raise


@transaction.atomic
def group_period_unlock(*, actor, group_key: str, period_id: int, reason: str) -> None:
    """Remove a group's lock (so members can be reopened). Needs the reopen permission on every
    member and a reason, which history keeps with the deleted row."""
    if not reason or not reason.strip():
        raise ReasonRequiredError("Unlocking a group's period needs a written reason.",
                                  errors=[FieldError("reason", "Required.", code="required")])
    lock = locks.group_period_locks_for_delete().filter(group_key=group_key, period_id=period_id).first()
    if lock is None:
        raise NotFound(f"Group {group_key} has not locked period {period_id}.")
    _require_all(actor, REOPEN, list(Entity.objects.filter(pk__in=lock.entity_ids)))
    lock._change_reason = reason.strip()[:100]
    lock.delete()


def group_period_is_locked(*, group_key: str, period_id: int) -> bool:
    return GroupPeriodLock.objects.filter(group_key=group_key, period_id=period_id).exists()


def members_locked(*, entity_ids: Sequence[int], period_id: int) -> bool:
    ids = set(entity_ids)
    return EntityPeriod.objects.filter(entity_id__in=ids, period_id=period_id,
                                       state=PeriodState.LOCKED).count() == len(ids)
