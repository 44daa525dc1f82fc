"""Recurring journal entries (issue 16): a monthly schedule on a journal template, and the drafts
it generates period by period.

Each draft goes through journal_entry_create_from_template as its owner (so it is checked as one
typed in, and the owner must still prepare entries for the entity); it stays a draft, the owner's,
so someone else approves it. Generation is idempotent per (recurrence, period): the run row's
unique key ``recurrence_run_once`` admits one generated run, so a second run — or a concurrent
one, which waits on that key and then fails it — writes nothing more. A period the entity has
locked, soft-closed or not opened is skipped with the reason, not refused: the run says why."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.services.events import audit_event_record
from ledger import locks
from ledger.errors import RecurrenceStoppedError
from ledger.etags import journal_recurrence_etag
from ledger.models import (
    EntrySource,
    JournalRecurrence,
    JournalRecurrenceRun,
    JournalTemplate,
    RecurrenceRunStatus,
)
from ledger.services.templates import journal_entry_create_from_template
from periods import locks as period_locks
from periods.models import Period, PeriodState
from sheshi.access.checks import has_entity_perm, require_entity_perm
from sheshi.access.roles import APPROVE, PREPARE
from sheshi.errors import (
    CommonErrorCode,
    FieldError,
    NotFound,
    PreconditionFailed,
    RuleViolation,
    SheshiError,
    ValidationFailed,
)
from sheshi.tenancy.models import Entity

UNCHANGED = object()  # journal_recurrence_update: a field not sent keeps its value

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


def _still_due(recurrence: JournalRecurrence, period: Period) -> bool:
    if not recurrence.is_active:
        return False
    return recurrence.end_period_id is None or Period.objects.filter(
        pk=recurrence.end_period_id, start_date__gte=period.start_date).exists()


def _generate_one(recurrence: JournalRecurrence, period: Period, actor) -> RecurrenceOutcome:
    out = {"recurrence_id": recurrence.pk, "entity": recurrence.entity.code, "template": recurrence.template.name}
    with transaction.atomic():
        # The schedule as it is now, held until the draft commits: an edit or a stop made since the
        # list was read counts, and one made meanwhile waits (ledger/locks.py).
        current = locks.journal_recurrence_share_lock(recurrence.pk)
        if current is None or not _still_due(current, period):
            return RecurrenceOutcome(**out, status=SKIPPED, reason="the recurrence was stopped or ended meanwhile")
        recurrence.day_of_month = current.day_of_month
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
                        entry_date=_entry_date(recurrence, period), source=EntrySource.RECURRING)
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


# ---- changing and stopping a recurrence ----------------------------------------------------------

def _locked_recurrence(actor, recurrence_id: int, if_match: Sequence[str] | None, *perms: str) -> JournalRecurrence:
    """The recurrence row-locked, after checking the actor holds one of ``perms`` on its entity,
    that ``if_match`` (when given) names its current version and that it is not stopped."""
    recurrence = locks.journal_recurrences_for_update().filter(pk=recurrence_id).first()
    if recurrence is None:
        raise NotFound(f"Recurrence {recurrence_id} not found.")
    entity = Entity.objects.get(pk=recurrence.entity_id)
    if actor is not None and not actor.is_superuser and not any(has_entity_perm(actor, p, entity) for p in perms):
        require_entity_perm(actor, perms[0], entity)  # raises, naming the permission to ask for
    if if_match is not None and journal_recurrence_etag(recurrence) not in if_match and "*" not in if_match:
        raise PreconditionFailed(f"Recurrence {recurrence.pk} changed since you read it (If-Match names an older "
                                 "version): read it again and redo the change.")
    if recurrence.stopped_at is not None:
        raise RecurrenceStoppedError(f"Recurrence {recurrence.pk} was stopped on {recurrence.stopped_at:%Y-%m-%d}: "
                                     "it no longer changes. Set up a new one from the template.")
    return recurrence


def _last_generated(recurrence: JournalRecurrence) -> JournalRecurrenceRun | None:
    return (JournalRecurrenceRun.objects.filter(recurrence_id=recurrence.pk, status=RecurrenceRunStatus.GENERATED)
            .select_related("period").order_by("-period__start_date").first())


def _end_checked(recurrence: JournalRecurrence, end: Period, field: str) -> None:
    """An end is not before the start, nor before a month already drafted (its draft stays: void
    it first if it should not be there)."""
    start = Period.objects.get(pk=recurrence.start_period_id)
    if end.start_date < start.start_date:
        raise ValidationFailed("The end period is before the start period.", errors=[FieldError(
            field, f"Not before {start.code}.", code="end_before_start", value=end.code)])
    last = _last_generated(recurrence)
    if last is not None and end.start_date < last.period.start_date:
        raise ValidationFailed(f"{last.period.code} is already drafted (entry {last.entry_id}).", errors=[FieldError(
            field, f"Not before {last.period.code}, already drafted (entry {last.entry_id}): months already "
                   "generated keep their drafts; void the draft if it should not be there.",
            code="period_already_generated", value=end.code)])


def _audit(recurrence: JournalRecurrence, action: str, changes: dict) -> None:
    audit_event_record(organisation_id=recurrence.organisation_id, action=action,
                       object_type="ledger.journalrecurrence", object_id=recurrence.pk, changes=changes)


@transaction.atomic(durable=True)
def journal_recurrence_update(*, actor, recurrence_id: int, day_of_month=UNCHANGED, end_period_id=UNCHANGED,
                              if_match: Sequence[str] | None = None) -> JournalRecurrence:
    """Change the day of the month (None: the last day) or the end period (None: no end) of a
    recurrence, for the months not yet generated: drafts already made keep their dates, and the
    end is never before a month already drafted. By whoever prepares the entity's entries (the
    drafts stay the owner's). ``if_match``: the ETags of the version the caller edited, compared
    under the row lock. Audited with the values before and after."""
    recurrence = _locked_recurrence(actor, recurrence_id, if_match, PREPARE)
    before = {"day_of_month": recurrence.day_of_month, "end_period_id": recurrence.end_period_id}
    if day_of_month is not UNCHANGED:
        if day_of_month is not None and not (isinstance(day_of_month, int) and 1 <= day_of_month <= 31):
            raise ValidationFailed("The day of the month is 1 to 31.", errors=[FieldError(
                "day_of_month", "1 to 31, or empty for the last day.", code="invalid_day", value=day_of_month)])
        recurrence.day_of_month = day_of_month
    if end_period_id is not UNCHANGED:
        end = _monthly_period(recurrence.organisation_id, end_period_id, "end_period")
        if end is not None:
            _end_checked(recurrence, end, "end_period")
        recurrence.end_period = end
    after = {"day_of_month": recurrence.day_of_month, "end_period_id": recurrence.end_period_id}
    if after != before:
        recurrence.save(update_fields=["day_of_month", "end_period"])
        _audit(recurrence, "journal_recurrence.updated", {"before": before, "after": after,
                                                          "by": getattr(actor, "pk", None)})
    return recurrence


@transaction.atomic(durable=True)
def journal_recurrence_stop(*, actor, recurrence_id: int, reason: str, after_period_id: int | None = None,
                            if_match: Sequence[str] | None = None) -> JournalRecurrence:
    """Stop a recurrence, saying why. With ``after_period_id`` it drafts up to that period and
    no further (its end); without, it drafts nothing more from now on (inactive, its end the last
    month drafted). Months already generated keep their drafts. By whoever prepares or approves
    the entity's entries; who, when and why are kept on the recurrence (a database check) and in
    the audit trail. A stopped recurrence no longer changes."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("A reason is required to stop a recurrence.", code=CommonErrorCode.REASON_REQUIRED,
                            errors=[FieldError("reason", "Say why the recurrence stops.", code="reason_required")])
    recurrence = _locked_recurrence(actor, recurrence_id, if_match, PREPARE, APPROVE)
    if after_period_id is not None:
        end = _monthly_period(recurrence.organisation_id, after_period_id, "after_period")
        _end_checked(recurrence, end, "after_period")
        recurrence.end_period = end
    else:
        last = _last_generated(recurrence)
        recurrence.is_active = False
        if last is not None:
            recurrence.end_period = last.period
    recurrence.stopped_at, recurrence.stopped_by, recurrence.stop_reason = timezone.now(), actor, reason[:500]
    recurrence.save(update_fields=["is_active", "end_period", "stopped_at", "stopped_by", "stop_reason"])
    _audit(recurrence, "journal_recurrence.stopped", {
        "reason": recurrence.stop_reason, "end_period_id": recurrence.end_period_id,
        "is_active": recurrence.is_active, "by": getattr(actor, "pk", None)})
    return recurrence
