"""Auto-reversing accruals (issue 16): a draft marked "reverse on" a day of a later period gets,
when it is posted, its reversal drafted on that day — every line negated, pointing to the
original (``reverses``), audited — in the same transaction as the posting.

These are steps of journal_entry_create/_update (the mark) and journal_entry_post (the draft),
not operations of their own. The reversal is written here rather than through
journal_entry_reverse: that one reverses a posted entry on request, needs the prepare permission
of whoever asks and creates the reversal submitted or posted; this one is part of a posting (the
poster may hold only approve rights) and leaves a draft for the preparer to check and submit.
The draft is the preparer's (``created_by`` of the original): an approver other than the
preparer approves it, as for any entry."""
from __future__ import annotations

from datetime import date

from django.conf import settings

from audit.services.events import audit_event_record
from ledger.errors import LedgerErrorCode
from ledger.inputs import EntryInput
from ledger.models import EntrySource, EntryStatus, JournalEntry, JournalLine
from periods import locks as period_locks
from periods.models import Period, PeriodState
from sheshi.errors import FieldError, RuleViolation
from sheshi.tenancy.models import Entity


def _next_period_start(period: Period) -> date | None:
    nxt = (Period.objects.filter(organisation_id=period.organisation_id, number__lte=12,
                                 start_date__gt=period.end_date).order_by("start_date", "number").first())
    return None if nxt is None else nxt.start_date


def _reverse_on_for(entity: Entity, period: Period, entry: EntryInput) -> date | None:
    """The date a draft is marked to be reversed on: ``reverse_on`` as given (after the end of the
    entry's period), or with ``auto_reverse`` alone the first day of the next period."""
    if entry.reverse_on is None and not entry.auto_reverse:
        return None
    if settings.SHESHI_UNSAFE_SKIP_APP_VALIDATION:
        return entry.reverse_on  # the database's rule alone (entry_reverse_on_after_entry_date)
    if entry.reverse_on is None:
        start = _next_period_start(period)
        if start is None:
            raise RuleViolation(f"No period follows {period.code}, so the accrual cannot be reversed automatically: "
                                "create the next fiscal year first, or give the reversal date.",
                                code=LedgerErrorCode.REVERSAL_PERIOD_UNAVAILABLE,
                                errors=[FieldError("reverse_on", f"No period follows {period.code}.",
                                                   code="no_next_period")])
        return start
    if entry.reverse_on <= period.end_date:
        raise RuleViolation(f"The reversal date {entry.reverse_on} must fall in a later period than {period.code} "
                            f"(after {period.end_date}).", code=LedgerErrorCode.REVERSE_ON_INVALID,
                            errors=[FieldError("reverse_on", f"After {period.end_date}.", code="reverse_on_invalid",
                                               value=entry.reverse_on)])
    return entry.reverse_on


def _unavailable(original: JournalEntry, why: str) -> RuleViolation:
    return RuleViolation(f"Entry {original.pk} is to be reversed on {original.reverse_on}, but {why}: nothing was "
                         "posted. Open the period, or change the reversal date of the draft.",
                         code=LedgerErrorCode.REVERSAL_PERIOD_UNAVAILABLE,
                         errors=[FieldError("reverse_on", why, code="reversal_period_unavailable",
                                            value=original.reverse_on)])


def _accrual_reversal_draft(actor, original: JournalEntry) -> JournalEntry:
    """Draft the reversal of ``original`` (being posted, row locked) on its ``reverse_on``.
    Refused — and with it the posting — when no period holds that day or it is locked for the
    entity. The reversal period's row is share-locked as a posting's is, so a lock of it waits."""
    day = original.reverse_on
    period = Period.objects.filter(organisation_id=original.organisation_id, start_date__lte=day,
                                   end_date__gte=day, number__lte=12).first()
    if period is None:
        raise _unavailable(original, f"no period contains {day}")
    state = period_locks.entity_period_share_lock(entity_id=original.entity_id, period_id=period.pk)
    if state is None:
        raise _unavailable(original, f"period {period.code} is not open for {original.entity.code}")
    if state == PeriodState.LOCKED:
        raise _unavailable(original, f"period {period.code} is locked for {original.entity.code}")
    reversal = JournalEntry.objects.create(
        organisation_id=original.organisation_id, entity_id=original.entity_id, period=period, entry_date=day,
        description=f"Reversal of accrual {original.pk}: {original.description}"[:500],
        reference=original.reference, source=EntrySource.REVERSAL, status=EntryStatus.DRAFT, reverses=original,
        created_by_id=original.created_by_id)
    JournalLine.objects.bulk_create([
        JournalLine(organisation_id=ln.organisation_id, entity_id=ln.entity_id, period_id=period.pk,
                    entry_id=reversal.pk, line_no=ln.line_no, account_id=ln.account_id, currency=ln.currency,
                    amount=-ln.amount, rate=ln.rate, functional_amount=-ln.functional_amount,
                    counterparty_id=ln.counterparty_id, dimensions=ln.dimensions, memo=ln.memo)
        for ln in JournalLine.objects.filter(entry_id=original.pk).order_by("line_no")])
    audit_event_record(organisation_id=original.organisation_id, action="journal_entry.accrual_reversal_drafted",
                       object_type="ledger.journalentry", object_id=original.pk,
                       changes={"reversal_id": reversal.pk, "reverse_on": day, "period": period.code,
                                "posted_by": getattr(actor, "pk", None)})
    return reversal
