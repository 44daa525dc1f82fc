"""Recurring journal entries (issue 16): a monthly schedule on a journal template, and the drafts
it generates period by period.

Each draft goes through journal_entry_create_from_template as its owner (so it is checked as one
typed in, and the owner must still prepare entries for the entity); it stays a draft, the owner's,
so someone else approves it. Generation is idempotent per (recurrence, period): the run row's
unique key ``recurrence_run_once`` admits one generated run, so a second run — or a concurrent
one, which waits on that key and then fails it — writes nothing more. A period the entity has
locked, soft-closed or not opened is skipped with the reason, not refused: the run says why."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from audit.services.events import audit_event_record
from ledger.models import JournalRecurrence, JournalRecurrenceRun, JournalTemplate, RecurrenceRunStatus
from ledger.services.templates import journal_entry_create_from_template
from periods import locks as period_locks
from periods.models import Period, PeriodState
from sheshi.access.checks import require_entity_perm
from sheshi.access.roles import PREPARE
from sheshi.errors import FieldError, NotFound, SheshiError, ValidationFailed

GENERATED, ALREADY, SKIPPED = "generated", "already_generated", "skipped"


@dataclass(frozen=True)
class RecurrenceOutcome:
    recurrence_id: int
    entity: str
    template: str
    status: str  # generated | already_generated | skipped
    entry_id: int | None = None
    reason: str = ""


def _entry_date(recurrence: JournalRecurrence, period: Period):
    """``day_of_month`` of the period (its last day when the month is shorter), or its last day."""
    if recurrence.day_of_month is None:
        return period.end_date
    return min(period.start_date + timedelta(days=recurrence.day_of_month - 1), period.end_date)


def _monthly_period(organisation_id: int, period_id: int | None, field: str) -> Period | None:
    if period_id is None:
        return None
    period = Period.objects.filter(organisation_id=organisation_id, pk=period_id, number__lte=12).first()
    if period is None:
        raise ValidationFailed("Unknown period.", errors=[FieldError(field, "No such monthly period.",
                                                                      code="unknown_period", value=period_id)])
    return period


@transaction.atomic
def journal_recurrence_create(*, actor, template_id: int, start_period_id: int, end_period_id: int | None = None,
                              day_of_month: int | None = None) -> JournalRecurrence:
    """Repeat template ``template_id`` monthly from ``start_period_id`` (to ``end_period_id``), its
    drafts ``actor``'s: only someone who prepares entries for the entity sets one up."""
    template = JournalTemplate.objects.select_related("entity").filter(pk=template_id).first()
    if template is None:
        raise NotFound(f"Journal template {template_id} not found.")
    require_entity_perm(actor, PREPARE, template.entity)
    start = _monthly_period(template.organisation_id, start_period_id, "start_period")
    end = _monthly_period(template.organisation_id, end_period_id, "end_period")
    if end is not None and end.start_date < start.start_date:
        raise ValidationFailed("The end period is before the start period.",
                               errors=[FieldError("end_period", f"Not before {start.code}.", code="end_before_start",
                                                  value=end.code)])
    if day_of_month is not None and not 1 <= day_of_month <= 31:
        raise ValidationFailed("The day of the month is 1 to 31.",
                               errors=[FieldError("day_of_month", "1 to 31, or empty for the last day.",
                                                  code="invalid_day", value=day_of_month)])
    return JournalRecurrence.objects.create(
        organisation_id=template.organisation_id, entity_id=template.entity_id, template=template,
        day_of_month=day_of_month, start_period=start, end_period=end, owner=actor)


def _due(period: Period, entity_ids) -> list[JournalRecurrence]:
    if period.number > 12:  # the year-end adjustment period: nothing recurs into it
        return []
    qs = (JournalRecurrence.objects.filter(organisation_id=period.organisation_id, is_active=True,
                                           start_period__start_date__lte=period.start_date)
          .filter(Q(end_period__isnull=True) | Q(end_period__start_date__gte=period.start_date))
          .select_related("entity", "template", "owner").order_by("pk"))
    if entity_ids is not None:
        qs = qs.filter(entity_id__in=entity_ids)
    return list(qs)


def _skip_reason(recurrence: JournalRecurrence, period: Period, state: str | None) -> str:
    where = f"period {period.code} is {{}} for {recurrence.entity.code}"
    if state is None:
        return where.format("not open")
    if state == PeriodState.LOCKED:
        return where.format("locked")
    if state == PeriodState.SOFT_CLOSED:
        return where.format("soft-closed")
    return ""


def _refusal_text(exc: SheshiError) -> str:
    details = "; ".join(e.message for e in exc.errors if e.message)
    return f"{exc.detail} {details}".strip() if details else str(exc.detail)


def _runs(recurrence: JournalRecurrence, period: Period):
    return JournalRecurrenceRun.objects.filter(organisation_id=recurrence.organisation_id,
                                               recurrence_id=recurrence.pk, period_id=period.pk)


def _skip_record(recurrence: JournalRecurrence, period: Period, reason: str) -> None:
    """The skipped run with its reason; rewritten only when the reason changes (a daily run does
    not add an audit event a day for the same skip)."""
    reason = reason[:500]
    if _runs(recurrence, period).filter(status=RecurrenceRunStatus.SKIPPED).exclude(reason=reason).update(
            reason=reason):
        return
    try:
        with transaction.atomic():
            JournalRecurrenceRun.objects.create(organisation_id=recurrence.organisation_id, recurrence=recurrence,
                                                period=period, status=RecurrenceRunStatus.SKIPPED, reason=reason)
    except IntegrityError as exc:  # the row is there: skipped with this reason, or generated meanwhile
        if "recurrence_run_once" not in str(exc):
            raise


def _claim(recurrence: JournalRecurrence, period: Period, entry_id: int) -> None:
    """Mark the run generated. Against a concurrent run: an UPDATE of the skipped row waits for the
    other's and then matches nothing; an INSERT fails ``recurrence_run_once``."""
    if _runs(recurrence, period).filter(status=RecurrenceRunStatus.SKIPPED).update(
            status=RecurrenceRunStatus.GENERATED, entry_id=entry_id, reason=""):
        return
    JournalRecurrenceRun.objects.create(organisation_id=recurrence.organisation_id, recurrence=recurrence,
                                        period=period, status=RecurrenceRunStatus.GENERATED, entry_id=entry_id)


def _generate_one(recurrence: JournalRecurrence, period: Period, actor) -> RecurrenceOutcome:
    out = {"recurrence_id": recurrence.pk, "entity": recurrence.entity.code, "template": recurrence.template.name}
    with transaction.atomic():
        generated = _runs(recurrence, period).filter(status=RecurrenceRunStatus.GENERATED).first()
        if generated is not None:
            return RecurrenceOutcome(**out, status=ALREADY, entry_id=generated.entry_id)
        # Period before entry (ledger/locks.py): a lock or soft-close of the period waits for this run.
        state = period_locks.entity_period_share_lock(entity_id=recurrence.entity_id, period_id=period.pk)
        reason = _skip_reason(recurrence, period, state)
        entry = None
        if not reason:
            try:
                with transaction.atomic():
                    entry = journal_entry_create_from_template(
                        actor=recurrence.owner, template_id=recurrence.template_id,
                        entry_date=_entry_date(recurrence, period))
                    _claim(recurrence, period, entry.pk)
            except IntegrityError as exc:
                if "recurrence_run_once" not in str(exc):
                    raise
                winner = _runs(recurrence, period).values_list("entry_id", flat=True).first()
                return RecurrenceOutcome(**out, status=ALREADY, entry_id=winner)
            except SheshiError as exc:  # the owner may no longer prepare, an account closed since, ...
                reason = _refusal_text(exc)
        if entry is None:
            _skip_record(recurrence, period, reason)
            return RecurrenceOutcome(**out, status=SKIPPED, reason=reason)
        audit_event_record(organisation_id=recurrence.organisation_id, action="journal_entry.recurring_drafted",
                           object_type="ledger.journalentry", object_id=entry.pk,
                           changes={"recurrence_id": recurrence.pk, "template_id": recurrence.template_id,
                                    "period": period.code, "owner_id": recurrence.owner_id,
                                    "run_by": getattr(actor, "pk", None)})
    return RecurrenceOutcome(**out, status=GENERATED, entry_id=entry.pk)


def recurring_entries_generate(*, period: Period, actor=None, entity_ids=None) -> list[RecurrenceOutcome]:
    """The drafts due in ``period`` from every active recurrence of its organisation (of
    ``entity_ids`` only, when given), each recurrence in its own transaction: one skipped or
    refused leaves the others generated. ``actor``: who asked (None for the schedule), audited."""
    return [_generate_one(recurrence, period, actor) for recurrence in _due(period, entity_ids)]


def recurring_entries_generate_for_entity(*, actor, entity, period: Period) -> list[RecurrenceOutcome]:
    """As recurring_entries_generate, for one entity, asked by someone who prepares its entries
    (the drafts stay each recurrence owner's)."""
    require_entity_perm(actor, PREPARE, entity)
    return recurring_entries_generate(period=period, actor=actor, entity_ids=[entity.pk])
