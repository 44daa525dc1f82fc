"""Many entries of one entity posted at once through the bulk path (ledger/services/bulk.py): the
integration batch behind POST /api/v1/journal-entries/batch/.

All or nothing: every refusal of every entry is listed (entry index, line, field, why, and the
CSV row when the batch came as CSV) and nothing is written. The checks the single create
endpoint makes on a posting that the bulk path leaves to PostgreSQL (postable accounts,
currencies, counterparties, the entity's period states) are made here first, so they are listed
too; PostgreSQL still checks every one of them. Idempotent by key: the batch row is the first
write of the transaction, so a concurrent retry waits on its unique index, then replays."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from ledger.errors import BatchTooLargeError, EntryDateOutsidePeriodError, IdempotencyConflictError
from ledger.inputs import EntryInput
from ledger.models import Account, AccountKind, EntrySource, JournalEntryBatch
from ledger.services.bulk import PeriodResolver, entries_check, journal_entries_post_bulk
from periods.models import EntityPeriod, Period, PeriodState
from sheshi.access.checks import has_entity_perm, require_entity_perm
from sheshi.access.roles import CLOSE, PREPARE
from sheshi.errors import FieldError, ValidationFailed
from sheshi.money import is_iso_currency
from sheshi.tenancy.models import Entity

MAX_BATCH_ENTRIES = 10_000


@dataclass(frozen=True)
class BatchResult:
    batch: JournalEntryBatch
    replayed: bool  # True when an Idempotency-Key retry returned the original batch


def journal_entries_batch_post(*, actor, entity: Entity, entries: list[EntryInput], idempotency_key: str | None = None,
                               request_hash: str = "") -> BatchResult:
    """Post ``entries`` (source manual) in one transaction, or none of them."""
    require_entity_perm(actor, PREPARE, entity)
    if len(entries) > MAX_BATCH_ENTRIES:
        raise BatchTooLargeError(f"A batch holds at most {MAX_BATCH_ENTRIES:,} entries; this one has "
                                 f"{len(entries):,}. Split it.", errors=[FieldError(
                                     "entries", f"At most {MAX_BATCH_ENTRIES:,} entries.", code="too_many_entries",
                                     value=len(entries))])
    if not entries:
        raise ValidationFailed("The batch has no entries.", errors=[FieldError(
            "entries", "At least one entry.", code="required")])
    if idempotency_key and (existing := _batch_for_key(actor, entity, idempotency_key)) is not None:
        return _replay(existing, request_hash)
    try:
        return BatchResult(_post(actor=actor, entity=entity, entries=entries, idempotency_key=idempotency_key,
                                 request_hash=request_hash), replayed=False)
    except IntegrityError:  # the same key committed by a concurrent request while this one waited
        existing = _batch_for_key(actor, entity, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _replay(existing, request_hash)


def _batch_for_key(actor, entity: Entity, key: str) -> JournalEntryBatch | None:
    return JournalEntryBatch.objects.filter(organisation_id=entity.organisation_id, created_by=actor,
                                            idempotency_key=key).first()


def _replay(existing: JournalEntryBatch, request_hash: str) -> BatchResult:
    if existing.request_hash != request_hash:
        raise IdempotencyConflictError(f"Idempotency-Key already used for batch {existing.pk} with another body.")
    return BatchResult(batch=existing, replayed=True)


@transaction.atomic
def _post(*, actor, entity: Entity, entries: list[EntryInput], idempotency_key: str | None,
          request_hash: str) -> JournalEntryBatch:
    batch = JournalEntryBatch.objects.create(organisation_id=entity.organisation_id, entity=entity, created_by=actor,
                                             idempotency_key=idempotency_key or None, request_hash=request_hash)
    known = _Known(actor, entity, entries)
    if known.may_close:
        # The posting trigger lets a soft-closed period take postings only under this
        # transaction-local flag, which only a path that checked the close permission sets.
        with connection.cursor() as cur:
            cur.execute("SELECT set_config('sheshi.close_privilege', 'on', true)")
    # The refusals are worked out (pure Python, on what _Known read) while PostgreSQL posts: the
    # posting's statements leave this thread waiting, so the other gets the interpreter. All or
    # nothing holds either way: a batch with refusals is refused with all of them and its posting,
    # if it got that far, is rolled back with this transaction; a database refusal of the posting
    # is shown as before when the checks here find nothing.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-refusals") as pool:
        refusals = pool.submit(_batch_refusals, known, entity, entries)
        try:
            result = journal_entries_post_bulk(actor=actor, entity=entity, entries=entries, source=EntrySource.MANUAL)
        except Exception:
            _refuse(refusals.result())
            raise
        _refuse(refusals.result())
    batch.entry_count, batch.line_count = result.entries, result.lines
    batch.entry_id_runs = [list(run) for run in result.id_runs]
    batch.save(update_fields=["entry_count", "line_count", "entry_id_runs"])
    return batch


def _refuse(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(f"The batch is not valid ({len(errors):,} refusals); nothing was posted.",
                               errors=errors)


class _Known:
    """What the batch's refusals are checked against, read from the database once (this thread:
    the connection is not shared with the one that checks)."""

    def __init__(self, actor, entity: Entity, entries: list[EntryInput]):
        resolve = PeriodResolver(entity.organisation_id)
        self.periods = [resolve(e) for e in entries]
        self.accounts = {pk: (kind, active) for pk, kind, active in Account.objects.filter(
            organisation_id=entity.organisation_id, pk__in={li.account_id for e in entries for li in e.lines})
            .values_list("pk", "kind", "is_active")}
        self.counterparties = set(Entity.objects.filter(organisation_id=entity.organisation_id)
                                  .exclude(pk=entity.pk).values_list("pk", flat=True))
        self.states = dict(EntityPeriod.objects.filter(entity=entity).values_list("period_id", "state"))
        self.bounds = {pk: (start, end, code) for pk, start, end, code in Period.objects.filter(
            organisation_id=entity.organisation_id, pk__in={p for p in self.periods if p is not None})
            .values_list("pk", "start_date", "end_date", "code")}
        # Only asked when an entry goes into a soft-closed period.
        into_soft_closed = any(self.states.get(p) == PeriodState.SOFT_CLOSED for p in self.bounds)
        self.may_close = into_soft_closed and (has_entity_perm(actor, CLOSE, entity) if actor is not None else True)


def _batch_refusals(known: _Known, entity: Entity, entries: list[EntryInput]) -> list[FieldError]:
    """The refusals of the batch, in entry order: references and period states checked here,
    with the bulk path's own checks (rates, zero lines, signs, balance) added when there are any
    (without, the bulk path makes those and lists every one itself). No database access: this
    runs beside the posting."""
    periods, accounts, counterparties, states, bounds = (known.periods, known.accounts, known.counterparties,
                                                         known.states, known.bounds)
    postable = {pk for pk, (kind, active) in accounts.items() if kind == AccountKind.POSTING and active}
    errors: list[FieldError] = []
    for i, (e, period_id) in enumerate(zip(entries, periods, strict=True)):
        row = e.lines[0].source_row if e.lines else None
        if period_id is not None:
            start, end, code = bounds[period_id]
            state = states.get(period_id)
            if not start <= e.entry_date <= end:
                errors.append(FieldError(f"entries[{i}].entry_date", f"Outside period {code} ({start} to {end}).",
                                         code=EntryDateOutsidePeriodError.code, value=e.entry_date, row=row))
            if state is None:
                errors.append(FieldError(f"entries[{i}].period", f"Period {code} is not open for entity "
                                         f"{entity.code}.", code="period_not_open", value=code, row=row))
            elif state == PeriodState.LOCKED:
                errors.append(FieldError(f"entries[{i}].period", f"Period {code} is locked for entity "
                                         f"{entity.code}.", code="period_locked", value=code, row=row))
            elif state == PeriodState.SOFT_CLOSED and not known.may_close:
                errors.append(FieldError(f"entries[{i}].period", f"Period {code} is soft-closed: only users "
                                         "with the close permission post into it.", code="period_soft_closed",
                                         value=code, row=row))
        for no, li in enumerate(e.lines):
            if li.account_id in postable and li.currency is None and li.counterparty_id is None:
                continue  # nothing below can refuse it (most lines)
            where = f"entries[{i}].lines[{no}]"
            account = accounts.get(li.account_id)
            if account is None:
                errors.append(FieldError(f"{where}.account", "Unknown account.", code="unknown_account",
                                         value=li.account_id, row=li.source_row))
            elif account[0] != AccountKind.POSTING or not account[1]:
                errors.append(FieldError(f"{where}.account", "The account does not take postings (group or "
                                         "inactive account).", code="not_postable", row=li.source_row))
            if li.currency is not None and not is_iso_currency(li.currency):
                errors.append(FieldError(f"{where}.currency", "Not an ISO 4217 currency.", code="invalid_currency",
                                         value=li.currency, row=li.source_row))
            if li.counterparty_id is not None and li.counterparty_id not in counterparties:
                errors.append(FieldError(f"{where}.counterparty", "The counterparty must be another entity of the "
                                         "same organisation.", code="invalid_counterparty", row=li.source_row))
    if errors:  # the bulk path's own checks, for the full list; it makes them itself otherwise
        errors += entries_check(entity, entries, periods)
    return sorted(errors, key=_entry_index)


def _entry_index(error: FieldError) -> int:
    return int(error.field[len("entries["):error.field.index("]")])
