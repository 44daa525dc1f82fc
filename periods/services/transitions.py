"""Calendars and period state transitions: one service per transition, each audited by the
database triggers and recorded in history, each locking the entity-period row FOR NO KEY UPDATE
(periods/locks.py) so it serialises with postings (which hold FOR SHARE on the same row)."""
from __future__ import annotations

import calendar
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from periods import locks
from periods.books import books
from periods.errors import (
    CloseChecklistIncompleteError,
    PeriodStateError,
    ReasonRequiredError,
    SoftCloseUnconfirmedError,
    UnpostedEntriesError,
)
from periods.models import (
    ChecklistTemplate,
    EntityPeriod,
    FiscalYear,
    LockOverride,
    Period,
    PeriodLockSnapshot,
    PeriodState,
)
from periods.selectors.close import blocker_sentence, close_blockers, soft_close_warnings
from periods.services.checklist import checklist_tasks_create_from_templates
from sheshi.access.checks import require_entity_perm
from sheshi.access.roles import CLOSE, REOPEN
from sheshi.errors import FieldError, ValidationFailed
from sheshi.observability.hooks import enqueue
from sheshi.tenancy.models import Entity, Organisation


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


@transaction.atomic
def fiscal_year_generate(*, organisation: Organisation, year: int, adjustment_period: bool = True) -> FiscalYear:
    """Create fiscal year ``FY<year>`` (the year it ends in) with twelve monthly periods and an
    optional adjustment period 13, and open every active entity's periods. Idempotent."""
    start_month = organisation.fiscal_year_start_month
    start = date(year if start_month == 1 else year - 1, start_month, 1)
    end_first = _add_months(start, 12)
    end = date.fromordinal(end_first.toordinal() - 1)
    fy, _ = FiscalYear.objects.get_or_create(organisation=organisation, code=f"FY{year}",
                                             defaults={"start_date": start, "end_date": end})
    for n in range(12):
        first = _add_months(start, n)
        last = date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
        Period.objects.get_or_create(organisation=organisation, fiscal_year=fy, number=n + 1,
                                     defaults={"code": f"{first:%Y-%m}", "start_date": first, "end_date": last})
    if adjustment_period:
        Period.objects.get_or_create(organisation=organisation, fiscal_year=fy, number=13,
                                     defaults={"code": f"FY{year}-13", "start_date": end, "end_date": end})
    entity_periods_open(organisation=organisation)
    close_tasks_create_for_periods(organisation=organisation, period_ids=list(fy.periods.values_list("pk", flat=True)))
    return fy


def close_tasks_create_for_periods(*, organisation: Organisation, period_ids: list[int] | None = None) -> int:
    """Create the close tasks of the organisation's open and soft-closed entity-periods (of
    ``period_ids``, or all) from its checklist templates, each entity-period in its own
    transaction; idempotent. Returns how many tasks were created. Locked periods are left alone:
    their close is finished."""
    if not ChecklistTemplate.objects.filter(organisation=organisation, is_active=True).exists():
        return 0
    eps = EntityPeriod.objects.filter(organisation=organisation).exclude(state=PeriodState.LOCKED)
    if period_ids is not None:
        eps = eps.filter(period_id__in=period_ids)
    return sum(len(checklist_tasks_create_from_templates(actor=None, entity_period_id=pk))
               for pk in eps.order_by("period__start_date", "entity_id").values_list("pk", flat=True))


def entity_periods_open(*, organisation: Organisation, entity: Entity | None = None) -> int:
    """Every active entity follows its organisation's calendar: create missing entity-period rows
    (open), set-based; for ``entity`` alone when given (a new entity: the row triggers of the table
    fire for every candidate row, the existing ones included, before the conflict is seen)."""
    with connection.cursor() as cur:
        cur.execute("""
            INSERT INTO periods_entityperiod (organisation_id, entity_id, period_id, state, reason)
            SELECT e.organisation_id, e.id, p.id, 'open', ''
              FROM tenancy_entity e JOIN periods_period p ON p.organisation_id = e.organisation_id
             WHERE e.organisation_id = %s AND e.is_active AND (%s::bigint IS NULL OR e.id = %s::bigint)
            ON CONFLICT (entity_id, period_id) DO NOTHING""",
                    [organisation.pk, getattr(entity, "pk", None), getattr(entity, "pk", None)])
        return cur.rowcount


def _lock_row(entity_period_id: int) -> EntityPeriod:
    return locks.entity_periods_for_update().select_related("entity", "period").get(pk=entity_period_id)


def _transition(ep: EntityPeriod, actor, to: str, reason: str, change_reason: str = "") -> EntityPeriod:
    ep.state, ep.changed_by, ep.changed_at, ep.reason = to, actor, timezone.now(), reason
    ep._change_reason = (change_reason or reason or f"→ {PeriodState(to).label.lower()}")[:100]
    ep.save(update_fields=["state", "changed_by", "changed_at", "reason"])
    return ep


def _warning_text(w: dict) -> str:
    return f"{w['title']}: {w['state']}"


@transaction.atomic
def entity_period_soft_close(*, actor, entity_period_id: int, reason: str = "", force: bool = False) -> EntityPeriod:
    """Soft-close: only users with the close permission post into the period from now on.

    With unposted entries, open required checklist tasks or lapsed/unreviewed reconciliations
    (periods.selectors.close.soft_close_warnings) it is refused with the list (409) unless the caller
    confirms with ``force`` and a reason; the reason and what was outstanding are then recorded
    on the period (its reason, history change reason and so its audit trail)."""
    ep = _lock_row(entity_period_id)
    require_entity_perm(actor, CLOSE, ep.entity)
    if ep.state != PeriodState.OPEN:
        raise PeriodStateError(f"Period {ep.period.code} of {ep.entity.code} is "
                               f"{ep.get_state_display().lower()}, not open.")
    warnings = soft_close_warnings(entity_period_id=ep.pk)
    if not warnings:
        return _transition(ep, actor, PeriodState.SOFT_CLOSED, reason)
    errors = [FieldError("entries" if w["kind"] == "entry" else f"{w['kind']}s", _warning_text(w), code=w["state"],
                         value=w["id"]) for w in warnings]
    if not force:
        raise SoftCloseUnconfirmedError(
            f"{len(warnings)} item{'s' if len(warnings) != 1 else ''} of {ep.entity.code} {ep.period.code} unposted "
            "or open: confirm with force and a reason to soft-close anyway.", errors=errors)
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequiredError("Soft-closing despite unposted entries or open close items needs a written reason.",
                                  errors=[FieldError("reason", "Required.", code="required"), *errors])
    recorded = f"{reason}\nSoft-closed despite: " + "; ".join(_warning_text(w) for w in warnings)
    return _transition(ep, actor, PeriodState.SOFT_CLOSED, recorded,
                       change_reason=f"soft-closed despite {len(warnings)} open items: {reason}")


@transaction.atomic
def entity_period_lock(*, actor, entity_period_id: int, reason: str = "",
                       override_reason: str = "") -> PeriodLockSnapshot:
    """Lock: nothing posts into the period any more. Waits for postings in flight (they hold
    FOR SHARE), then records the trial balance and its hash, so the locked figures can later be
    shown never to have changed.

    Refused while a required checklist task or an account reconciliation is open or lapsed,
    unless a controller (close permission) gives ``override_reason``: the override, and what was
    outstanding, is recorded (LockOverride, append-only)."""
    ep = _lock_row(entity_period_id)
    require_entity_perm(actor, CLOSE, ep.entity)
    if ep.state == PeriodState.LOCKED:
        raise PeriodStateError(f"Period {ep.period.code} of {ep.entity.code} is already locked.")
    unposted = [pk for pk, _, _ in books().unposted_entries(entity_id=ep.entity_id, period_id=ep.period_id, limit=100)]
    if unposted:
        raise UnpostedEntriesError(
            f"{len(unposted)} unposted entries remain in {ep.period.code}: post or void them first.",
            errors=[FieldError("entries", f"Entry {pk} is not posted.", code="unposted", value=pk)
                    for pk in unposted])
    _close_checklist_check(ep, actor, override_reason)
    _transition(ep, actor, PeriodState.LOCKED, reason)
    # The database took the snapshot in the same statement (ledger/sql/0016_lock_snapshot.sql):
    # the application's role cannot write snapshots, so none can be forged to match a change.
    snapshot = PeriodLockSnapshot.objects.filter(entity_period=ep).order_by("-pk").first()
    # A lock closes the books: anchor the audit chain outside the database once it is committed.
    transaction.on_commit(lambda: enqueue("audit.tasks.audit_anchor_task", "period_lock", f"entity_period:{ep.pk}"))
    return snapshot


def _close_checklist_check(ep: EntityPeriod, actor, override_reason: str) -> None:
    blockers = close_blockers(entity_period_id=ep.pk)
    if not blockers:
        return
    if not override_reason or not override_reason.strip():
        raise CloseChecklistIncompleteError(
            f"{len(blockers)} close items of {ep.entity.code} {ep.period.code} are open or lapsed; finish them or "
            "override with a reason.",
            errors=[FieldError(f"{b['kind']}s", blocker_sentence(b), code=b["state"], value=b["id"])
                    for b in blockers])
    LockOverride.objects.create(organisation_id=ep.organisation_id, entity_period=ep, overridden_by=actor,
                                reason=override_reason.strip(), blockers=blockers)


@transaction.atomic
def entity_period_reopen(*, actor, entity_period_id: int, reason: str, to: str = PeriodState.OPEN) -> EntityPeriod:
    """Reopen a soft-closed or locked period: a separate permission and a written reason."""
    if not reason or not reason.strip():
        raise ReasonRequiredError("Reopening a period needs a written reason.",
                                  errors=[FieldError("reason", "Required.", code="required")])
    if to not in (PeriodState.OPEN, PeriodState.SOFT_CLOSED):
        raise ValidationFailed("A period reopens to open or soft_closed.", errors=[FieldError("to", "Invalid.")])
    ep = _lock_row(entity_period_id)
    require_entity_perm(actor, REOPEN, ep.entity)
    if ep.state == PeriodState.OPEN or ep.state == to:
        raise PeriodStateError(f"Period {ep.period.code} of {ep.entity.code} is already "
                               f"{ep.get_state_display().lower()}.")
    return _transition(ep, actor, to, reason.strip())
