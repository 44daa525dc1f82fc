"""The set-based posting path for imports and system entries.

Entries are posted in chunks (up to CHUNK_ENTRIES entries or CHUNK_LINES lines). A chunk's lines and
entry headers are written with COPY into temporary staging tables (PostgreSQL refuses COPY FROM
into a table under row-level security, and staging keeps the real tables' triggers to one firing
per chunk). Then one INSERT … SELECT moves the lines in (their entries do not exist yet: the entry
reference is checked when they do), and one INSERT … SELECT moves the entries in as posted. That
statement fires the posting trigger once for the chunk, which checks every rule set-based and
updates the balances: the same database checks as the one-by-one path, with no save() per row.
The moves run on a second thread while the next chunk is built and formatted, all in the caller's
one transaction: all or nothing. Memory stays flat: nothing is held per entry beyond two chunks.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from ledger import locks
from ledger.inputs import ONE as _ONE
from ledger.inputs import EntryInput, line_rate
from ledger.models import EntrySource
from ledger.services.entries import source_needs_approval
from periods.models import Period
from sheshi.access.checks import require_entity_perm
from sheshi.access.roles import PREPARE
from sheshi.errors import ConcurrentUpdate, FieldError, RuleViolation, ValidationFailed, from_db_error
from sheshi.money import quantize_amount
from sheshi.tenancy.models import Entity

CHUNK_ENTRIES = 5000
# A chunk also closes at this many lines: a consolidation run posts a few translation journals of
# thousands of lines each, and the pipeline overlaps only from the second chunk on.
CHUNK_LINES = 10_000
LINE_COLUMNS = ("id", "organisation_id", "entity_id", "period_id", "entry_id", "line_no", "account_id", "currency",
                "amount", "rate", "functional_amount", "counterparty_id", "dimensions", "memo", "import_batch_id",
                "source_row", "source_raw")
# Staged without an id: a line's id comes from the table's identity as the chunk is moved in.
STAGED_LINE_COLUMNS = LINE_COLUMNS[1:]
ENTRY_COLUMNS = ("id", "organisation_id", "entity_id", "period_id", "entry_date", "description", "reference", "source",
                 "import_batch_id")
# Refusals listed at most: past this many the batch is refused with the first ones (a file with
# a wrong column mapping would otherwise hold an error object per row in memory).
MAX_ERRORS = 100_000


@dataclass(frozen=True)
class BulkResult:
    entries: int
    lines: int
    first_entry_id: int | None
    last_entry_id: int | None
    # The new entries' ids in input order, as runs of consecutive ids ([first, last] pairs): a
    # chunk's ids come from one sequence call and are consecutive unless another session drew
    # from the sequence meanwhile, so this stays a few pairs however many entries were posted.
    id_runs: tuple[tuple[int, int], ...] = ()

    def entry_ids(self) -> list[int]:
        return [i for first, last in self.id_runs for i in range(first, last + 1)]


def _add_runs(runs: list[list[int]], ids: list[int]) -> None:
    for i in ids:
        if runs and runs[-1][1] + 1 == i:
            runs[-1][1] = i
        else:
            runs.append([i, i])


def _chunks(items: Iterable[EntryInput], max_entries: int, max_lines: int) -> Iterator[list[EntryInput]]:
    chunk: list[EntryInput] = []
    n_lines = 0
    for item in items:
        chunk.append(item)
        n_lines += len(item.lines)
        if len(chunk) == max_entries or n_lines >= max_lines:
            yield chunk
            chunk, n_lines = [], 0
    if chunk:
        yield chunk


class PeriodResolver:
    """Regular period for a date, cached; the organisation's calendar is small."""

    def __init__(self, organisation_id: int):
        self.periods = list(Period.objects.filter(organisation_id=organisation_id, number__lte=12)
                            .values_list("id", "start_date", "end_date"))
        self.by_id = {p[0] for p in Period.objects.filter(organisation_id=organisation_id).values_list("id")}
        self.by_date: dict = {}  # a batch's entries share a few hundred dates

    def __call__(self, entry: EntryInput) -> int | None:
        if entry.period_id is not None:
            return entry.period_id if entry.period_id in self.by_id else None
        day = entry.entry_date
        try:
            return self.by_date[day]
        except KeyError:
            found = self.by_date[day] = next((pid for pid, start, end in self.periods if start <= day <= end), None)
            return found


def entries_check(entity: Entity, entries: list[EntryInput], periods: list[int | None]) -> list[FieldError]:
    """Every refusal the bulk path's own checks would give these entries (rates, zero lines,
    signs, balance, a period for each), without writing anything; ``periods`` as resolved."""
    functional_ccy = entity.functional_currency
    errors: list[FieldError] = []
    for i, (e, p) in enumerate(zip(entries, periods, strict=True)):
        rates = [_rate(li, functional_ccy) for li in e.lines]
        functional = [_functional(li, r) for li, r in zip(e.lines, rates, strict=True)]
        errors += _check_entry(i, e, p, functional, rates, functional_ccy)
    return errors


def _check_entry(index: int, entry: EntryInput, period_id: int | None,
                 functional: list[Decimal], rates: list[Decimal | None], functional_ccy: str) -> list[FieldError]:
    """The service's per-entry checks, each naming the entry, the line and its source row."""
    errors = []
    first_row = entry.lines[0].source_row if entry.lines else None
    if period_id is None:
        errors.append(FieldError(f"entries[{index}].entry_date", "No fiscal period contains this date.",
                                 value=entry.entry_date, row=first_row))
    if len(entry.lines) < 2:
        errors.append(FieldError(f"entries[{index}].lines", "An entry needs at least two lines.",
                                 code="too_few_lines", row=first_row))
    for no, (li, fa, rate) in enumerate(zip(entry.lines, functional, rates, strict=True)):
        where = f"entries[{index}].lines[{no}]"
        if rate is None:
            _, code, reason = line_rate(li, currency=li.currency or functional_ccy, functional_currency=functional_ccy)
            errors.append(FieldError(f"{where}.rate", reason, code=code, value=li.rate, row=li.source_row))
        elif li.amount == 0 and fa == 0:
            errors.append(FieldError(f"{where}.amount", "A line cannot be zero.", code="zero_line",
                                     row=li.source_row))
        elif (li.amount > 0 and fa < 0) or (li.amount < 0 and fa > 0):
            errors.append(FieldError(f"{where}.functional_amount", "The functional amount has the other sign than "
                                     "the amount.", code="line_signs_disagree", value=fa, row=li.source_row))
    total = sum(functional, Decimal(0))
    if total != 0 and not errors:
        errors.append(FieldError(f"entries[{index}].lines", f"Functional amounts sum to {total}, not 0.",
                                 code="unbalanced", value=total, row=first_row))
    return errors


def _figures(chunk: list[EntryInput], functional_ccy: str) -> tuple[list[list[Decimal | None]], list[list[Decimal]],
                                                                  list[bool]]:
    """Each line's rate and functional amount (as _rate and _functional give them), and for each
    entry whether _check_entry is sure to find nothing. A line in the functional currency with
    neither a rate nor a functional amount — most lines — is at rate 1 and its functional amount
    is its amount, rounded: that is taken without line_rate's call, and such a line can only be
    refused as a zero line (rounding keeps the sign). An entry of such lines, at least two, that
    balances is clean; any other entry goes through _check_entry."""
    rates, functional, clean = [], [], []
    plain_currencies = (None, functional_ccy)
    for e in chunk:
        rs, fas = [], []
        ok = len(e.lines) >= 2
        for li in e.lines:
            if li.rate is None and li.functional_amount is None and li.currency in plain_currencies:
                rs.append(_ONE)
                fas.append(quantize_amount(li.amount))
                if li.amount == 0:
                    ok = False
            else:
                rate = _rate(li, functional_ccy)
                rs.append(rate)
                fas.append(_functional(li, rate))
                ok = False
        rates.append(rs)
        functional.append(fas)
        clean.append(ok and sum(fas) == 0)
    return rates, functional, clean


def _rate(li, functional_ccy: str) -> Decimal | None:
    return line_rate(li, currency=li.currency or functional_ccy, functional_currency=functional_ccy)[0]


def _functional(li, rate: Decimal | None) -> Decimal:
    if li.functional_amount is not None:
        return quantize_amount(li.functional_amount)
    return quantize_amount(li.amount * rate) if rate is not None else Decimal(0)


# COPY text format: the rows are written as text by hand (psycopg's per-value dumpers were a
# third of the Python time); free text is escaped, numbers and dates need no escaping.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def _text(value: str) -> str:
    return value.translate(_COPY_ESCAPES) if value else ""


def _opt(value) -> str:
    """An optional integer (an id or a row number)."""
    return NULL if value is None else str(int(value))


def _number(value) -> str:
    return str(value if isinstance(value, Decimal) else Decimal(value))


_ROWS_PER_WRITE = 4000


def _line_rows(periods: list[int | None], chunk: list[EntryInput], functional: list[list[Decimal]],
               rates: list[list[Decimal | None]], org_entity: str, functional_ccy: str, batch: str, dims,
               memo) -> Iterator[str]:
    """The chunk's line rows as COPY text (STAGED_LINE_COLUMNS; the entry is named by its number in
    the chunk, from 1), in pieces of ``_ROWS_PER_WRITE`` rows. Optional fields are tested inline (a
    function call per field and line was most of this loop's time)."""
    functional_text = _text(functional_ccy)
    rows: list[str] = []
    for entry_no, (period_id, e, fas, rs) in enumerate(zip(periods, chunk, functional, rates, strict=True), start=1):
        head = f"{org_entity}\t{period_id}\t{entry_no}\t"
        for no, (li, fa, rate) in enumerate(zip(e.lines, fas, rs, strict=True), start=1):
            # A functional-currency line at rate 1 (most): its amount is its functional amount.
            if rate is _ONE and li.functional_amount is None:
                amount, rate_text = fa, "1"
            else:
                amount, rate_text = quantize_amount(li.amount), _number(rate)
            currency, counterparty, dimensions, note, row, raw = (li.currency, li.counterparty_id, li.dimensions,
                                                                  li.memo, li.source_row, li.source_raw)
            rows.append(
                f"{head}{no}\t{int(li.account_id)}\t"
                f"{_text(currency) if currency else functional_text}\t{amount}\t{rate_text}\t{fa}\t"
                f"{NULL if counterparty is None else int(counterparty)}\t{dims(dimensions) if dimensions else '{}'}\t"
                f"{memo(note) if note else ''}\t{batch}\t{NULL if row is None else int(row)}\t"
                f"{_text(raw) if raw else ''}\n")
        if len(rows) >= _ROWS_PER_WRITE:
            yield "".join(rows)
            rows = []
    if rows:
        yield "".join(rows)


def journal_entries_post_bulk(*, actor, entity: Entity, entries: Iterable[EntryInput],
                              source: str = EntrySource.IMPORT, import_batch_id: int | None = None) -> BulkResult:
    """Post many entries of one entity at once. All or nothing: any refusal rolls back everything,
    and a refusal by a database rule comes back as the same domain error the API uses."""
    try:
        return _post_bulk(actor=actor, entity=entity, entries=entries, source=source,
                          import_batch_id=import_batch_id)
    except psycopg.Error as exc:  # the raw COPY cursor bypasses Django's error wrapping
        mapped = from_db_error(exc)
        # A transaction lost to a concurrent one stays a database error: the caller retries it
        # (an import job is re-run), where a rule's refusal is final.
        if mapped is not None and not isinstance(mapped, ConcurrentUpdate):
            raise mapped from exc
        raise


@transaction.atomic
def _post_bulk(*, actor, entity: Entity, entries: Iterable[EntryInput],
               source: str = EntrySource.IMPORT, import_batch_id: int | None = None) -> BulkResult:
    require_entity_perm(actor, PREPARE, entity)
    def refuse_unapproved(src: str) -> None:
        if source_needs_approval(entity, src):
            raise RuleViolation(f"Entries with source '{src}' need approval in entity {entity.code}; "
                                "the bulk path posts only sources that do not.", code="entry_needs_approval")
    refuse_unapproved(source)
    entry_tails: dict[str | None, str] = {}  # per source: the end of an entry's COPY row
    resolve = PeriodResolver(entity.organisation_id)
    functional_ccy = entity.functional_currency
    actor_id = getattr(actor, "pk", None)
    n_entries = n_lines = 0
    runs: list[list[int]] = []
    errors: list[FieldError] = []
    with connection.cursor() as cur:
        # Staging tables with the real columns' types only (the real tables check everything),
        # made by the schema owner: the application's role may not create temporary tables.
        cur.execute("SELECT ledger_bulk_stage_create(%s, %s)", [list(ENTRY_COLUMNS), list(STAGED_LINE_COLUMNS)])
        raw = cur.connection  # psycopg 3 connection: COPY support; thread-safe (one statement at a time)
        # The chunk pipeline: while the poster thread moves chunk k into the real tables (PostgreSQL
        # working on the other core, this thread's interpreter free), this thread builds and formats
        # chunk k+1 - for a consolidation run that includes building its journals, which the caller
        # hands in as a generator. The connection serves one statement at a time: chunk k+1 is
        # copied into staging only once chunk k is in.
        with raw.cursor() as pg, ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-post") as poster:
            pending: Future | None = None
            org_entity = f"{entity.organisation_id}\t{entity.pk}"
            batch = _opt(import_batch_id)

            def entry_tail(src: str | None) -> str:
                tail = entry_tails.get(src)
                if tail is None:
                    refuse_unapproved(src or source)
                    tail = entry_tails[src] = f"\t{_text(src or source)}\t{batch}\n"
                return tail
            # Lines often share one dimensions dict (a consolidation journal's lines, one per member):
            # serialise each dict once per chunk. The dict is held with its text, so its id is not reused.
            dims_text: dict[int, tuple[dict, str]] = {}

            def dims(value: dict) -> str:
                hit = dims_text.get(id(value))
                if hit is None:
                    hit = dims_text[id(value)] = (value, _json(value))
                return hit[1]

            memo_text: dict[str, str] = {}  # and so do their memos: escaped once each

            def memo(value: str) -> str:
                text = memo_text.get(value)
                if text is None:
                    text = memo_text[value] = _text(value)
                return text
            for chunk in _chunks(entries, CHUNK_ENTRIES, CHUNK_LINES):
                dims_text.clear()  # per chunk: memory stays flat on a large import
                memo_text.clear()
                periods = [resolve(e) for e in chunk]
                rates, functional, clean = _figures(chunk, functional_ccy)
                errors += [err for i, (e, p, fa, rs, ok) in enumerate(zip(chunk, periods, functional, rates, clean,
                                                                          strict=True))
                           if not ok or p is None for err in _check_entry(n_entries + i, e, p, fa, rs, functional_ccy)]
                if errors:  # nothing more is written; the rest is still checked, to list every refusal
                    if len(errors) >= MAX_ERRORS:
                        break
                    n_entries += len(chunk)
                    continue
                n_line_in_chunk = sum(len(e.lines) for e in chunk)
                pieces = _line_rows(periods, chunk, functional, rates, org_entity, functional_ccy, batch, dims, memo)
                if pending is None:
                    # Nothing in flight: written as built, a few hundred kB at a time, so PostgreSQL
                    # reads and stores the first rows while the next ones are formatted.
                    with pg.copy(f"COPY ledger_bulk_lines ({', '.join(STAGED_LINE_COLUMNS)}) FROM STDIN") as copy:
                        for piece in pieces:
                            copy.write(piece)
                    entry_text = _entry_rows(chunk, periods, org_entity, entry_tail)
                else:
                    line_text = "".join(pieces)  # formatted while the previous chunk is posted
                    entry_text = _entry_rows(chunk, periods, org_entity, entry_tail)
                    _add_runs(runs, pending.result())
                    pending = None
                    with pg.copy(f"COPY ledger_bulk_lines ({', '.join(STAGED_LINE_COLUMNS)}) FROM STDIN") as copy:
                        copy.write(line_text)
                with pg.copy(f"COPY ledger_bulk_entries ({', '.join(ENTRY_COLUMNS)}) FROM STDIN") as copy:
                    copy.write(entry_text)
                pending = poster.submit(_chunk_post, raw, entity_id=entity.pk, n_entries=len(chunk),
                                        n_lines=n_line_in_chunk, actor_id=actor_id)
                n_entries += len(chunk)
                n_lines += n_line_in_chunk
            if errors:
                if pending is not None:
                    # The connection is free again before the rollback; what the chunk in flight
                    # did, or why PostgreSQL refused it, is rolled back with the rest.
                    wait([pending])
                shown = errors[:MAX_ERRORS]
                more = "" if len(errors) < MAX_ERRORS else f" The first {MAX_ERRORS:,} refusals are listed."
                raise ValidationFailed(f"The batch is not valid; nothing was posted.{more}", errors=shown)
            if pending is not None:
                _add_runs(runs, pending.result())
            pg.execute("SELECT ledger_bulk_stage_drop()")
    if n_entries == 0:
        return BulkResult(0, 0, None, None)
    return BulkResult(n_entries, n_lines, runs[0][0], runs[-1][1], tuple((a, b) for a, b in runs))


def _entry_rows(chunk: list[EntryInput], periods: list[int | None], org_entity: str, entry_tail) -> str:
    """The chunk's entries as COPY text (ENTRY_COLUMNS; the id is the entry's number in the chunk)."""
    return "".join(f"{no}\t{org_entity}\t{period_id}\t{e.entry_date.isoformat()}\t"
                   f"{_text(e.description[:500])}\t{_text(e.reference[:100])}{entry_tail(e.source)}"
                   for no, (period_id, e) in enumerate(zip(periods, chunk, strict=True), start=1))


_MOVED_LINE_COLUMNS = ", ".join(STAGED_LINE_COLUMNS)
# The staged entry numbers become the reserved ids; each line's id comes from the table's identity,
# in input order.
_LINES_INSERT = (f"INSERT INTO ledger_journalline ({_MOVED_LINE_COLUMNS}) "
                 f"SELECT {_MOVED_LINE_COLUMNS.replace('entry_id', '(%(ids)s::bigint[])[entry_id]')} "
                 "FROM ledger_bulk_lines ORDER BY entry_id, line_no")
_ENTRIES_INSERT = """
    INSERT INTO ledger_journalentry (id, organisation_id, entity_id, period_id, entry_date, description,
        reference, source, status, created_by_id, created_at, posted_by_id, posted_at, import_batch_id,
        request_hash)
    SELECT (%(ids)s::bigint[])[id], organisation_id, entity_id, period_id, entry_date, description, reference,
           source, 'posted', %(actor)s, %(now)s, %(actor)s, %(now)s, import_batch_id, ''
      FROM ledger_bulk_entries ORDER BY id"""


def _chunk_post(raw: psycopg.Connection, *, entity_id: int, n_entries: int, n_lines: int,
                actor_id: int | None) -> list[int]:
    """Move the staged chunk into the real tables (on the poster thread, in the caller's
    transaction) and empty the staging tables; the chunk's new entry ids, in input order."""
    with raw.cursor() as pg:
        ids = reserve_ids(pg, "ledger_journalentry_id_seq", n_entries)
        # The posting trigger share-locks the chunk's entity-periods; taking them first (same
        # order: period before entries) stamps posted_at after any wait for a period lock to end.
        locks.bulk_entity_periods_share_lock(pg, entity_id=entity_id)
        params = {"ids": ids, "actor": actor_id, "now": timezone.now()}
        pg.execute(_LINES_INSERT, params)
        pg.execute("SELECT ledger_analyze_if_grown(%s)", [n_lines])  # plan the posting on fresh statistics
        # One statement per chunk: the posting trigger checks the chunk's entries set-based.
        pg.execute(_ENTRIES_INSERT, params)
        # simple-history rows for the chunk, written set-based (no save() per row) by the owner's
        # entry point: a copy of each entry as posted (sheshi/tenancy/sql/0007_entry_points.sql).
        pg.execute("SELECT sheshi_history_record('ledger_historicaljournalentry', %(ids)s::bigint[], '+', "
                   "%(actor)s, 'bulk posting')", params)
        pg.execute("SELECT ledger_bulk_stage_clear()")
    return ids


def reserve_ids(pg, sequence: str, n: int) -> list[int]:
    """n new ids from the sequence, in one round trip (one array, not n rows)."""
    pg.execute("SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)", [sequence, n])
    return pg.fetchone()[0]


def _json(value) -> str:
    """The dimensions as COPY text (jsonb input; key order is jsonb's own)."""
    if not value:
        return "{}"
    import json

    return _text(json.dumps(value, sort_keys=True, default=str))
