"""Moving many entity-periods at once (commands, API, the admin close grid): all or nothing.

Each cell goes through the one service for its transition (periods.services.transitions), inside one outer
transaction; a refusal of any cell rolls every cell back and the error lists every refusal, so a
controller sees the whole picture at once rather than one problem per attempt."""
from __future__ import annotations

from collections.abc import Sequence

from django.db import DatabaseError, transaction

from periods.errors import BatchRefusedError, PeriodStateError
from periods.models import EntityPeriod, PeriodState
from periods.services.transitions import entity_period_lock, entity_period_reopen, entity_period_soft_close
from sheshi.errors import FieldError, NotFound, PermissionDenied, SheshiError, ValidationFailed, from_db_error
from sheshi.tenancy.models import Entity, Organisation


def organisation_by_code(code: str) -> Organisation:
    org = Organisation.objects.filter(code=code).first()
    if org is None:
        raise NotFound(f"No organisation with code {code!r}.")
    return org


def entity_periods_resolve(*, organisation: Organisation, period_code: str,
                           entity_codes: Sequence[str] | None = None) -> list[EntityPeriod]:
    """The entity-periods of ``period_code`` for the named entities (None: every active entity
    of the organisation), ordered by id — the order locks are taken in."""
    if entity_codes is not None:
        found = dict(Entity.objects.filter(organisation=organisation, code__in=list(entity_codes))
                     .values_list("code", "id"))
        missing = [c for c in entity_codes if c not in found]
        if missing:
            raise NotFound(f"Entity {', '.join(missing)} is not in organisation {organisation.code}.",
                           errors=[FieldError("entity", f"{c} is not in organisation {organisation.code}.",
                                              code="entity_not_in_organisation", value=c) for c in missing])
        entity_ids = list(found.values())
    else:
        entity_ids = list(Entity.objects.filter(organisation=organisation, is_active=True).values_list("id", flat=True))
    if not organisation.periods.filter(code=period_code).exists():
        raise NotFound(f"Period {period_code} does not exist in organisation {organisation.code}.",
                       errors=[FieldError("period", "No such period.", code="unknown_period", value=period_code)])
    eps = list(EntityPeriod.objects.select_related("entity", "period")
               .filter(organisation=organisation, period__code=period_code, entity_id__in=entity_ids).order_by("id"))
    if len(eps) != len(entity_ids):
        have = {ep.entity_id for ep in eps}
        codes = sorted(Entity.objects.filter(id__in=set(entity_ids) - have).values_list("code", flat=True))
        raise NotFound(f"Period {period_code} is not set up for {', '.join(codes)} (run generate_calendar).")
    return eps


def _move_one(*, actor, ep: EntityPeriod, to: str, reason: str, override_reason: str, force: bool):
    if to == PeriodState.LOCKED:
        return entity_period_lock(actor=actor, entity_period_id=ep.pk, reason=reason, override_reason=override_reason)
    if to == PeriodState.SOFT_CLOSED and ep.state == PeriodState.OPEN:
        return entity_period_soft_close(actor=actor, entity_period_id=ep.pk, reason=reason, force=force)
    if ep.state == to:
        raise PeriodStateError(f"Period {ep.period.code} of {ep.entity.code} is already "
                               f"{PeriodState(to).label.lower()}.")
    return entity_period_reopen(actor=actor, entity_period_id=ep.pk, reason=reason, to=to)


@transaction.atomic
def entity_periods_move(*, actor, entity_period_ids: Sequence[int], to: str, reason: str = "",
                        override_reason: str = "", force: bool = False) -> list[EntityPeriod]:
    """Move every listed entity-period to ``to`` (open, soft_closed or locked), all or nothing.

    Moving to open, or from locked to soft_closed, is a reopen: it needs the reopen permission
    and a reason. Locking checks the close checklist; ``override_reason`` lets a controller lock
    despite open items (recorded per period). Soft-closing a period with unposted entries or open
    close items needs ``force`` and a reason (recorded per period)."""
    if to not in PeriodState.values:
        raise ValidationFailed(f"Unknown state {to!r}.", errors=[FieldError("to", "Use open, soft_closed or locked.")])
    if not entity_period_ids:
        raise ValidationFailed("No periods selected.", errors=[FieldError("entity_periods", "Select at least one.")])
    # Read states to pick each cell's service; the service locks the row and re-checks.
    eps = list(EntityPeriod.objects.select_related("entity", "period")
               .filter(pk__in=list(entity_period_ids)).order_by("id"))
    if len(eps) != len(set(entity_period_ids)):
        raise NotFound("Some of the selected periods do not exist.")
    # Periods lock oldest first and reopen newest first (periods/sql/0007_close_order.sql): a run
    # of months moves in the order the database accepts, in this one transaction.
    eps.sort(key=lambda ep: (ep.period.start_date, ep.period.number), reverse=to != PeriodState.LOCKED)
    errors: list[FieldError] = []
    for ep in eps:
        try:
            with transaction.atomic():
                _move_one(actor=actor, ep=ep, to=to, reason=reason, override_reason=override_reason, force=force)
        except PermissionDenied:
            raise  # a missing permission is the caller's, not the batch's: 403 for the whole request
        except (SheshiError, DatabaseError) as exc:
            err = exc if isinstance(exc, SheshiError) else from_db_error(exc)
            if err is None:
                raise
            label = f"{ep.entity.code}/{ep.period.code}"
            errors.append(FieldError(label, err.detail, code=err.code))
            errors += [FieldError(f"{label}.{e.field}", e.message, code=e.code, value=e.value) for e in err.errors]
    if errors:
        first = next(e for e in errors if "." not in e.field)
        raise BatchRefusedError(
            f"{sum('.' not in e.field for e in errors)} of {len(eps)} periods were refused; nothing changed. "
            f"First: {first.field}: {first.message}", errors=errors)
    return eps
