"""Ledger writes: one function per state transition, each atomic, locking what it depends on.

PostgreSQL re-checks every rule (ledger/sql); the checks here take the locks and give the
friendly, field-level errors."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ledger import locks
from ledger.errors import (
    AlreadyReversedError,
    EntryDateOutsidePeriodError,
    EntryNotInStateError,
    EntryUnbalancedError,
    IdempotencyConflictError,
    PosterIsPreparerError,
    SegregationOfDutiesError,
)
from ledger.etags import journal_entry_etag
from ledger.inputs import EntryInput, LineInput, line_rate
from ledger.models import Account, AccountKind, EntrySource, EntryStatus, JournalEntry, JournalLine
from ledger.services.accruals import _accrual_reversal_draft, _reverse_on_for
from ledger.services.line_writer import journal_lines_insert
from periods import locks as period_locks
from periods.models import EntityPeriod, Period, PeriodState
from sheshi.access.checks import has_entity_perm, require_entity_perm
from sheshi.access.memo import recall, remember
from sheshi.access.roles import APPROVE, CLOSE, PREPARE
from sheshi.db.compiled import run_compiled
from sheshi.errors import (
    CommonErrorCode,
    FieldError,
    NotFound,
    PreconditionFailed,
    RuleViolation,
    SheshiError,
    ValidationFailed,
)
from sheshi.money import is_iso_currency, quantize_amount
from sheshi.tenancy.models import Entity


def _app_validation_skipped() -> bool:
    """Test-only (tests/reliability, issue 10): with the application's own checks off, PostgreSQL
    alone must hold every rule. Read from settings at each use, so the setting in force counts
    (SHESHI_UNSAFE_SKIP_APP_VALIDATION; check --deploy warns when it is on)."""
    return settings.SHESHI_UNSAFE_SKIP_APP_VALIDATION


SYSTEM_SOURCES = {EntrySource.CLOSING, EntrySource.ELIMINATION, EntrySource.REVALUATION, EntrySource.TRANSLATION}


def request_fingerprint(payload: dict) -> str:
    """Stable hash of a request body, to tell a retry from a different request with the same key."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _period_for(entity: Entity, entry: EntryInput) -> Period:
    qs = Period.objects.filter(organisation_id=entity.organisation_id)
    if entry.period_id is not None:
        period = qs.filter(pk=entry.period_id).first()
        if period is None:
            raise ValidationFailed("Unknown period.", errors=[FieldError("period", "No such period.")])
        return period
    period = qs.filter(start_date__lte=entry.entry_date, end_date__gte=entry.entry_date, number__lte=12).first()
    if period is None:
        raise ValidationFailed("No period contains the entry date.",
                               errors=[FieldError("entry_date", "No fiscal period contains this date.",
                                                  value=entry.entry_date)])
    return period


def _period_share_locked(entity: Entity, entry: EntryInput) -> tuple[Period, str | None, int | None]:
    """The entry's period, the entity's state in it (the entity-period row share-locked, see
    ledger/locks.py) and a new entry id, in one round trip. Without that row: the period, None
    (not open) and None. A refused entry leaves a gap in the ids, as any rolled-back insert does."""
    period = locks.entry_period_share_lock(entity_id=entity.pk, organisation_id=entity.organisation_id,
                                           period_id=entry.period_id, entry_date=entry.entry_date)
    if period is not None:
        return period, period.entity_state, period.new_entry_id
    return _period_for(entity, entry), None, None


def _writable_period_check(entity: Entity, period: Period, entry_date) -> None:
    """An entry is dated inside its period and never written into a locked one, from its first
    save (PostgreSQL refuses both too: ledger/sql/0018_entry_period_rules.sql)."""
    if _app_validation_skipped():
        return
    if not period.start_date <= entry_date <= period.end_date:
        raise EntryDateOutsidePeriodError(
            f"The entry date {entry_date} is outside period {period.code} "
            f"({period.start_date} to {period.end_date}).",
            errors=[FieldError("entry_date", f"Outside period {period.code}.", code="date_outside_period",
                               value=entry_date)])
    state = (EntityPeriod.objects.filter(entity_id=entity.pk, period_id=period.pk)
             .values_list("state", flat=True).first())
    if state == PeriodState.LOCKED:
        raise RuleViolation(f"Period {period.code} is locked for entity {entity.code}: no entry can be created or "
                            "changed in it.", code="period_locked")


def _build_lines(entity: Entity, entry: EntryInput) -> list[JournalLine]:
    errors: list[FieldError] = []
    if len(entry.lines) < 2:
        errors.append(FieldError("lines", "An entry needs at least two lines.", code="too_few_lines"))
    account_ids = {li.account_id for li in entry.lines}
    accounts = {i: a for i in account_ids
                if (a := recall(("account", i))) is not None and a.organisation_id == entity.organisation_id}
    if missing := account_ids - accounts.keys():
        accounts.update((a.pk, a) for a in Account.objects.filter(pk__in=missing,
                                                                   organisation_id=entity.organisation_id))
    counterparty_ids = {li.counterparty_id for li in entry.lines if li.counterparty_id}
    counterparties = {e.pk: e for e in Entity.objects.filter(pk__in=counterparty_ids,
                                                            organisation_id=entity.organisation_id)
                      .exclude(pk=entity.pk)} if counterparty_ids else {}
    built: list[JournalLine] = []
    total = Decimal(0)
    for i, li in enumerate(entry.lines):
        f = f"lines[{i}]"
        account = accounts.get(li.account_id)
        if account is None:
            errors.append(FieldError(f"{f}.account", "Unknown account.", code="unknown_account", value=li.account_id))
        elif account.kind != AccountKind.POSTING or not account.is_active:
            errors.append(FieldError(f"{f}.account", f"Account {account.code} does not take postings "
                                     "(group or inactive account).", code="not_postable", value=account.code))
        currency = li.currency or entity.functional_currency
        if not is_iso_currency(currency):
            errors.append(FieldError(f"{f}.currency", "Not an ISO 4217 currency.", code="invalid_currency",
                                     value=currency))
        rate, rate_code, rate_reason = line_rate(li, currency=currency, functional_currency=entity.functional_currency)
        if rate is None:
            errors.append(FieldError(f"{f}.rate", rate_reason, code=rate_code, value=li.rate))
            rate = li.rate  # as given (None included): with the app's checks off, the database must refuse it
        if li.counterparty_id and li.counterparty_id not in counterparties:
            errors.append(FieldError(f"{f}.counterparty", "The counterparty must be another entity of the "
                                     "same organisation.", code="invalid_counterparty", value=li.counterparty_id))
        functional = quantize_amount(li.functional_amount if li.functional_amount is not None
                                     else li.amount * (rate if rate is not None else 0))
        if li.amount == 0 and functional == 0:
            errors.append(FieldError(f"{f}.amount", "A line cannot be zero.", code="zero_line"))
        total += functional
        line = JournalLine(
            organisation_id=entity.organisation_id, entity_id=entity.pk, account_id=li.account_id,
            line_no=i + 1, currency=currency, amount=quantize_amount(li.amount), rate=rate,
            functional_amount=functional, counterparty_id=li.counterparty_id, dimensions=li.dimensions or {},
            memo=li.memo, source_row=li.source_row, source_raw=li.source_raw,
        )
        # The objects already read, so the response needs no second read (they are not saved).
        if account is not None:
            line.account = account
        if li.counterparty_id in counterparties:
            line.counterparty = counterparties[li.counterparty_id]
        built.append(line)
    if not errors and total != 0 and not _app_validation_skipped():
        # Alone, imbalance is the rule PostgreSQL also enforces: one answer for both (issue #15).
        raise EntryUnbalancedError(f"The entry does not balance: functional amounts sum to {total}, not 0.",
                                   errors=[FieldError("lines", f"Functional amounts sum to {total}, not 0.",
                                                      code="unbalanced", value=total)])
    if errors and not _app_validation_skipped():
        raise ValidationFailed("The journal entry is not valid.", errors=errors)
    return built


@dataclass(frozen=True)
class CreateResult:
    entry: JournalEntry
    replayed: bool  # True when an Idempotency-Key retry returned the original entry
    # The lines this call wrote, in order, so a response is built without reading them back; empty
    # when none were written here (a replay, or an entry re-read by a later step).
    lines: tuple[JournalLine, ...] = ()


@transaction.atomic
def journal_entry_create(*, actor, entity: Entity, entry: EntryInput, source: str = EntrySource.MANUAL,
                         idempotency_key: str | None = None, request_hash: str = "",
                         reverses: JournalEntry | None = None) -> CreateResult:
    """Create a draft entry with its lines. With an Idempotency-Key, a retry with the same body
    returns the original entry; the same key with a different body is refused."""
    require_entity_perm(actor, PREPARE, entity)
    if idempotency_key:
        existing = JournalEntry.objects.filter(organisation_id=entity.organisation_id, created_by=actor,
                                               idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replay(existing, request_hash)
    period = _period_for(entity, entry)
    _writable_period_check(entity, period, entry.entry_date)
    lines = _build_lines(entity, entry)
    reverse_on = _reverse_on_for(entity, period, entry)
    try:
        with transaction.atomic():
            je = JournalEntry.objects.create(
                organisation_id=entity.organisation_id, entity=entity, period=period, entry_date=entry.entry_date,
                description=entry.description, reference=entry.reference, source=source, created_by=actor,
                reverses=reverses, reverse_on=reverse_on,
                idempotency_key=idempotency_key or None, request_hash=request_hash)
    except IntegrityError as exc:
        if idempotency_key and "entry_idempotency_key_unique" in str(exc):
            # A concurrent retry with the same key won the race: answer as a replay.
            existing = JournalEntry.objects.get(organisation_id=entity.organisation_id, created_by=actor,
                                                idempotency_key=idempotency_key)
            return _replay(existing, request_hash)
        raise
    for line in lines:
        line.entry_id, line.period_id = je.pk, period.pk
    journal_lines_insert(lines)
    return CreateResult(entry=je, replayed=False, lines=tuple(lines))


def _replay(existing: JournalEntry, request_hash: str) -> CreateResult:
    if existing.request_hash != request_hash:
        raise IdempotencyConflictError(f"Idempotency-Key already used for entry {existing.pk} with another body.")
    return CreateResult(entry=existing, replayed=True)


def _locked_entry(entry_id: int, actor, perm: str | None) -> tuple[JournalEntry, str | None]:
    """The entry locked FOR NO KEY UPDATE, after its entity-period FOR SHARE (period before entry),
    and the entity's state in that period seen under the lock (None: no such row)."""
    entity_id, period_id = JournalEntry.objects.filter(pk=entry_id).values_list("entity_id", "period_id").first() \
        or (None, None)
    if entity_id is None:
        raise NotFound(f"Journal entry {entry_id} not found.")
    state = period_locks.entity_period_share_lock(entity_id=entity_id, period_id=period_id)
    entry = locks.journal_entries_for_update().select_related("entity", "period", "organisation").get(pk=entry_id)
    if perm is not None:
        require_entity_perm(actor, perm, entry.entity)
    return entry, state


def _expect(entry: JournalEntry, *allowed: str) -> None:
    if entry.status not in allowed:
        raise EntryNotInStateError(f"Entry {entry.pk} is {entry.status}; expected {' or '.join(allowed)}.",
                                   entry_id=entry.pk, entry_status=entry.status, allowed=allowed)


@transaction.atomic(durable=True)
def journal_entry_submit(*, actor, entry_id: int) -> JournalEntry:
    entry, _ = _locked_entry(entry_id, actor, PREPARE)
    _expect(entry, EntryStatus.DRAFT)
    entry.status, entry.submitted_by, entry.submitted_at = EntryStatus.SUBMITTED, actor, timezone.now()
    entry.save(update_fields=["status", "submitted_by", "submitted_at"])
    return entry


@transaction.atomic(durable=True)
def journal_entry_approve(*, actor, entry_id: int) -> JournalEntry:
    entry, _ = _locked_entry(entry_id, actor, APPROVE)
    _expect(entry, EntryStatus.SUBMITTED)
    if actor is not None and entry.created_by_id == actor.pk:
        raise SegregationOfDutiesError(f"You prepared entry {entry.pk}; someone else must approve it.")
    entry.status, entry.approved_by, entry.approved_at = EntryStatus.APPROVED, actor, timezone.now()
    entry.save(update_fields=["status", "approved_by", "approved_at"])
    return entry


@transaction.atomic(durable=True)
def journal_entry_reject(*, actor, entry_id: int) -> JournalEntry:
    """Send a submitted or approved entry back to draft for correction."""
    entry, _ = _locked_entry(entry_id, actor, APPROVE)
    _expect(entry, EntryStatus.SUBMITTED, EntryStatus.APPROVED)
    entry.status, entry.approved_by, entry.approved_at = EntryStatus.DRAFT, None, None
    entry.save(update_fields=["status", "approved_by", "approved_at"])
    return entry


@transaction.atomic
def journal_entry_update(*, actor, entry_id: int, entry: EntryInput,
                         if_match: Sequence[str] | None = None) -> JournalEntry:
    """Rewrite a draft: its header (date, period, description, reference) and all its lines,
    checked exactly as on creation. The entry row is locked first, so a concurrent submit or
    post waits; PostgreSQL refuses line changes once an entry is no longer a draft.

    ``if_match``: the ETags (ledger/etags.py) of the version the caller edited; compared under the
    row lock, so of two writers holding the same version the second is refused, not lost."""
    current, _ = _locked_entry(entry_id, actor, PREPARE)
    _expect(current, EntryStatus.DRAFT)
    if if_match is not None and journal_entry_etag(current) not in if_match:
        raise PreconditionFailed(f"Entry {current.pk} changed since you read it: read it again and redo the edit.")
    period = _period_for(current.entity, entry)
    lines = _build_lines(current.entity, entry)
    current.reverse_on = _reverse_on_for(current.entity, period, entry)
    current.entry_date, current.period = entry.entry_date, period
    current.description, current.reference = entry.description, entry.reference
    current._history_user = actor
    current.save(update_fields=["entry_date", "period", "description", "reference", "reverse_on"])
    JournalLine.objects.filter(entry_id=current.pk).delete()  # audited row by row by the capture triggers
    for line in lines:
        line.entry_id, line.period_id = current.pk, period.pk
    journal_lines_insert(lines)
    return current


@transaction.atomic(durable=True)
def journal_entry_void(*, actor, entry_id: int, reason: str) -> JournalEntry:
    """Withdraw a draft or submitted entry: it keeps its number and lines, says who voided it and
    why, and never reaches a balance. A posted entry is corrected by a reversal instead."""
    reason = (reason or "").strip()
    if not reason:
        # The same code as the database's entry_void_has_reason: one rule, one answer.
        raise RuleViolation("A reason is required to void an entry.", code=CommonErrorCode.REASON_REQUIRED,
                            errors=[FieldError("reason", "Say why the entry is voided.", code="reason_required")])
    entry, _ = _locked_entry(entry_id, actor, None)
    if actor is not None and not actor.is_superuser and not (
            has_entity_perm(actor, PREPARE, entry.entity) or has_entity_perm(actor, APPROVE, entry.entity)):
        require_entity_perm(actor, PREPARE, entry.entity)  # raises, naming the permission to ask for
    if entry.status == EntryStatus.POSTED:
        raise EntryNotInStateError(f"Entry {entry.pk} is posted: correct it with a reversal, not a void.")
    _expect(entry, EntryStatus.DRAFT, EntryStatus.SUBMITTED)
    entry.status, entry.voided_by, entry.voided_at, entry.void_reason = \
        EntryStatus.VOID, actor, timezone.now(), reason[:500]
    entry._history_user, entry._change_reason = actor, reason[:100]
    entry.save(update_fields=["status", "voided_by", "voided_at", "void_reason"])
    return entry


def source_needs_approval(entity: Entity, source: str) -> bool:
    """Whether the entity requires a second person's approval for ``source``. A recurrence's draft
    is approved wherever a manual entry is (PostgreSQL holds the same: ledger/sql/0027)."""
    required = entity.approval_required_sources or []
    return source in required or (source == EntrySource.RECURRING and EntrySource.MANUAL in required)


def _needs_approval(entry: JournalEntry) -> bool:
    """The entity's sources that need approval, and a user's reversal under the organisation's
    reversal_needs_approval policy."""
    if source_needs_approval(entry.entity, entry.source):
        return True
    return (entry.source == EntrySource.REVERSAL and entry.created_by_id is not None
            and entry.organisation.reversal_needs_approval)


def _poster_not_preparer_check(actor, entry: JournalEntry) -> None:
    """Under the organisation's poster_not_preparer policy (on by default), whoever prepared an
    entry does not post it. System postings and system sources are excepted. PostgreSQL holds
    the same rule (ledger_poster_is_preparer, ledger/sql/0020_poster_not_preparer.sql)."""
    if _app_validation_skipped() or actor is None or entry.source in SYSTEM_SOURCES:
        return
    if entry.created_by_id == actor.pk and entry.organisation.poster_not_preparer:
        raise PosterIsPreparerError(f"You prepared entry {entry.pk}; someone else must post it.")


def _allow_soft_closed(actor, entry: JournalEntry, period_state: str | None) -> None:
    """In a soft-closed period only users with the close permission post (adjustments). The
    database checks a transaction-local flag that only this path sets."""
    if period_state == PeriodState.SOFT_CLOSED:
        require_entity_perm(actor, CLOSE, entry.entity)
        with connection.cursor() as cur:
            cur.execute("SELECT set_config('sheshi.close_privilege', 'on', true)")


def _friendly_period_check(entry: JournalEntry, state: str | None) -> None:
    if _app_validation_skipped():
        return
    if state is None:
        raise RuleViolation(f"Period {entry.period.code} is not open for entity {entry.entity.code}.",
                            code="period_not_open")
    if state == PeriodState.LOCKED:
        raise RuleViolation(f"Period {entry.period.code} is locked for entity {entry.entity.code}.",
                            code="period_locked")


@transaction.atomic
def journal_entry_post(*, actor, entry_id: int) -> JournalEntry:
    """Post an entry: approved entries, or drafts/submitted ones whose source needs no approval;
    never by its preparer under the organisation's poster_not_preparer policy. PostgreSQL checks
    balance, accounts, period state, the poster rule and updates balances in this transaction."""
    entry, period_state = _locked_entry(entry_id, actor, None)
    if _needs_approval(entry):
        require_entity_perm(actor, APPROVE, entry.entity)
        _expect(entry, EntryStatus.APPROVED)
    else:
        require_entity_perm(actor, PREPARE, entry.entity)
        _expect(entry, EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.APPROVED)
    _poster_not_preparer_check(actor, entry)
    _friendly_period_check(entry, period_state)
    _allow_soft_closed(actor, entry, period_state)
    entry.status, entry.posted_by, entry.posted_at = EntryStatus.POSTED, actor, timezone.now()
    entry.save(update_fields=["status", "posted_by", "posted_at"])
    if entry.reverse_on is not None:  # an accrual: its reversal drafted in the same transaction
        _accrual_reversal_draft(actor, entry)
    return entry


def _next_open_period(original: JournalEntry) -> Period:
    """The first period after the original's (adjustment periods aside) that is open for its entity."""
    ep = (EntityPeriod.objects.select_related("period")
          .filter(entity_id=original.entity_id, state=PeriodState.OPEN, period__number__lte=12,
                  period__start_date__gt=original.period.start_date)
          .order_by("period__start_date", "period__number").first())
    if ep is None:
        raise RuleViolation(f"{original.entity.code} has no open period after {original.period.code}: choose the "
                            "reversal's date or period.", code="no_open_period",
                            errors=[FieldError("entry_date", "No open period follows the original's.",
                                               code="no_open_period")])
    return ep.period


def _reversal_input(original: JournalEntry, *, entry_date, period_id: int | None, description: str) -> EntryInput:
    """The original's lines negated, dated as the caller chose: ``entry_date`` (its period found
    from it unless ``period_id`` is given), ``period_id`` alone (its first day), or by default the
    first day of the entity's next open period after the original's."""
    if entry_date is None and period_id is None:
        period = _next_open_period(original)
        entry_date, period_id = period.start_date, period.pk
    elif entry_date is None:
        period = Period.objects.filter(organisation_id=original.organisation_id, pk=period_id).first()
        if period is None:
            raise ValidationFailed("Unknown period.", errors=[FieldError("period", "No such period.")])
        entry_date = period.start_date
    if entry_date < original.entry_date and not _app_validation_skipped():
        raise ValidationFailed("A reversal cannot be dated before the entry it reverses.", errors=[FieldError(
            "entry_date", f"On or after {original.entry_date}.", code="reversal_before_original", value=entry_date)])
    lines = [LineInput(account_id=ln.account_id, amount=-ln.amount, currency=ln.currency, rate=ln.rate,
                       functional_amount=-ln.functional_amount, counterparty_id=ln.counterparty_id,
                       dimensions=ln.dimensions, memo=ln.memo) for ln in original.lines.all()]
    return EntryInput(entry_date=entry_date, period_id=period_id, lines=lines,
                      description=description or f"Reversal of entry {original.pk}: {original.description}"[:500])


def _reversal_original(actor, entry_id: int) -> JournalEntry:
    original, _ = _locked_entry(entry_id, actor, PREPARE)
    _expect(original, EntryStatus.POSTED)
    existing = JournalEntry.objects.filter(reverses=original).values_list("pk", "status").first()
    if existing is not None:
        raise AlreadyReversedError(f"Entry {original.pk} is already reversed (entry {existing[0]}, {existing[1]}).")
    return original


def _reversal_post_now(actor, original: JournalEntry, entry: EntryInput) -> JournalEntry:
    """Write the reversal already posted, in one act (no draft then update: a user's draft could
    not be posted by himself under poster_not_preparer)."""
    period = _period_for(original.entity, entry)
    _writable_period_check(original.entity, period, entry.entry_date)
    return _post_new_entry(actor=actor, entity=original.entity, entry=entry, source=EntrySource.REVERSAL,
                           idempotency_key=None, request_hash="", reverses=original).entry


@transaction.atomic(durable=True)
def journal_entry_reverse(*, actor, entry_id: int, entry_date=None, period_id: int | None = None,
                          description: str = "") -> JournalEntry:
    """Correct a posted entry: a new entry with every line negated, pointing to it, dated as the
    caller chose (see _reversal_input; by default the first day of the next open period).

    Under the organisation's reversal_needs_approval policy (on by default) a user's reversal is
    created submitted and goes through approval and posting like any entry; with the policy off,
    from the system (no actor), or reversing a system source (closing, elimination...), it is
    posted at once."""
    original = _reversal_original(actor, entry_id)
    entry = _reversal_input(original, entry_date=entry_date, period_id=period_id, description=description)
    if actor is None or original.source in SYSTEM_SOURCES or not original.organisation.reversal_needs_approval:
        return _reversal_post_now(actor, original, entry)
    reversal = journal_entry_create(actor=actor, entity=original.entity, source=EntrySource.REVERSAL,
                                    reverses=original, entry=entry).entry
    reversal.status, reversal.submitted_by, reversal.submitted_at = EntryStatus.SUBMITTED, actor, timezone.now()
    reversal.save(update_fields=["status", "submitted_by", "submitted_at"])
    return reversal


@transaction.atomic
def journal_entry_reverse_posted(*, actor, entry_id: int, entry_date, period_id: int,
                                 description: str = "") -> JournalEntry:
    """A reversal posted at once whatever the organisation's policy, for reversals that are one
    step of another act with its own checks: superseding an import (its entries posted without
    approval, so are their reversals), reopening a year, replacing eliminations."""
    original = _reversal_original(actor, entry_id)
    entry = _reversal_input(original, entry_date=entry_date, period_id=period_id, description=description)
    return _reversal_post_now(actor, original, entry)


def journal_entry_create_and_post(*, actor, entity: Entity, entry: EntryInput, source: str = EntrySource.MANUAL,
                                  idempotency_key: str | None = None, request_hash: str = "") -> CreateResult:
    """Create and post in one transaction, for sources that need no approval (API and system).

    The entry is written once, already posted: its lines, then its header, whose INSERT fires the
    posting trigger (the bulk path's order) — no draft row, no UPDATE, no second history row.
    An Idempotency-Key is not looked up first: the unique index answers a retry, and a retry of a
    request that would now be refused (say its period was locked since) still gets its entry."""
    require_entity_perm(actor, PREPARE, entity)
    if source_needs_approval(entity, source):
        return _create_then_post(actor=actor, entity=entity, entry=entry, source=source,
                                 idempotency_key=idempotency_key, request_hash=request_hash)
    try:
        return _post_new_entry(actor=actor, entity=entity, entry=entry, source=source,
                               idempotency_key=idempotency_key, request_hash=request_hash)
    except (SheshiError, DatabaseError) as exc:
        existing = _entry_for_key(actor, entity, idempotency_key, exc) if idempotency_key else None
        if existing is None:
            raise
        return _replay(existing, request_hash)


def _entry_for_key(actor, entity: Entity, idempotency_key: str, exc: Exception) -> JournalEntry | None:
    try:
        return JournalEntry.objects.filter(organisation_id=entity.organisation_id, created_by=actor,
                                           idempotency_key=idempotency_key).first()
    except DatabaseError:  # the connection itself failed: report the original error
        raise exc from None


@transaction.atomic
def _post_new_entry(*, actor, entity: Entity, entry: EntryInput, source: str, idempotency_key: str | None,
                    request_hash: str, reverses: JournalEntry | None = None) -> CreateResult:
    period, state, entry_id = _period_share_locked(entity, entry)
    lines = _build_lines(entity, entry)
    now = timezone.now()
    je = JournalEntry(organisation_id=entity.organisation_id, entity=entity, period=period,
                      entry_date=entry.entry_date, description=entry.description, reference=entry.reference,
                      source=source, status=EntryStatus.POSTED, created_by=actor, posted_by=actor, posted_at=now,
                      idempotency_key=idempotency_key or None, request_hash=request_hash, reverses=reverses)
    je.reverse_on = _reverse_on_for(entity, period, entry)
    _friendly_period_check(je, state)
    _allow_soft_closed(actor, je, state)
    if entry_id is None:  # no entity-period row: only reached with the app's checks off (tests)
        with connection.cursor() as cur:
            cur.execute("SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id'))")
            entry_id = cur.fetchone()[0]
    je.pk = entry_id  # reserved: the lines are written first and point to it
    for line in lines:
        line.entry_id, line.period_id = je.pk, period.pk
    # The lines guard notes the entry it cannot see yet; the entry's INSERT below clears that
    # (ledger/sql/0011), and a commit without it is refused.
    journal_lines_insert(lines)
    je.save(force_insert=True)  # status posted: the posting trigger checks everything, updates balances
    if je.reverse_on is not None:
        _accrual_reversal_draft(actor, je)
    return CreateResult(entry=je, replayed=False, lines=tuple(lines))


@transaction.atomic
def _create_then_post(*, actor, entity: Entity, entry: EntryInput, source: str, idempotency_key: str | None,
                      request_hash: str) -> CreateResult:
    """The workflow path, for a source that needs approval: posting is then refused with the
    workflow's own error (approval required, or the missing permission)."""
    result = journal_entry_create(actor=actor, entity=entity, entry=entry, source=source,
                                  idempotency_key=idempotency_key, request_hash=request_hash)
    if result.replayed:
        return result
    return CreateResult(entry=journal_entry_post(actor=actor, entry_id=result.entry.pk), replayed=False)


def _accounts_by_code(organisation_id: int, codes: tuple[str, ...]) -> QuerySet:
    return Account.objects.filter(organisation_id=organisation_id, code__in=codes) \
        .values_list(*(f.attname for f in Account._meta.concrete_fields))


def account_ids_by_code(organisation_id: int, codes: Sequence[str]) -> dict[str, int]:
    """Ids of the organisation's accounts by code. The accounts read are remembered for the rest
    of the request, so building the lines does not read them again."""
    codes = tuple(dict.fromkeys(codes))
    if not codes:
        return {}
    names = [f.attname for f in Account._meta.concrete_fields]
    # SQL compiled once per number of codes (sheshi/db/compiled.py): every posting reads its accounts.
    accounts = [Account.from_db("default", names, row)
                for row in run_compiled(("account_ids_by_code",), _accounts_by_code, int(organisation_id), codes)]
    for account in accounts:
        remember(("account", account.pk), lambda account=account: account)
    return {a.code: a.pk for a in accounts}
