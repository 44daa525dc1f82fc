"""Rows to validated records, collecting every problem (row, column, value, reason) at once.

Pure: the account mapping, entity lookup and period come in as data and callables, so the
ledger provides them and the tests can too. The caller decides what to do with records (count
them, stage them, post them); nothing may be written unless the report is ``ok`` at the end.

Memory stays bounded: records are yielded one at a time, lookups are cached per distinct code
(bounded by the chart), and at most ``max_errors`` problems are kept (all are counted).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from sheshi.errors import FieldError
from sheshi.money import ISO_4217

from .errors import ImportValidationError
from .mapping import ColumnMapping, ImportKind, header_key
from .numbers import AmountError, check_amount_precision, parse_amount
from .reading import Cell, FileInfo, ImportLimits, SourceRow, inspect_file, iter_rows

ZERO = Decimal(0)
LOOKUP_CACHE_MAX = 200_000


@dataclass(frozen=True)
class AccountMatch:
    """A local account code resolved to a ledger account (``account`` is whatever the ledger needs)."""

    account: Any
    group_code: str = ""


@dataclass(frozen=True)
class Refusal:
    """A known code that cannot be used, with the reason (e.g. not mapped to the group chart)."""

    reason: str
    code: str = "account_unmapped"


AccountLookup = Callable[[str], AccountMatch | Refusal | None]  # None: the code is unknown
EntityLookup = Callable[[str], Any]  # None: the entity code is unknown


@dataclass(frozen=True)
class ImportContext:
    functional_currency: str
    period_start: date
    period_end: date
    account_lookup: AccountLookup
    entity_lookup: EntityLookup | None = None
    period_open: bool = True
    period_label: str = ""
    max_errors: int = 1000


@dataclass(slots=True)
class ImportRecord:
    row: int
    account_code: str
    account: Any
    currency: str
    amount: Decimal  # signed, transaction currency, positive = debit
    functional_amount: Decimal
    date: date | None
    counterparty_code: str
    counterparty: Any
    description: str
    reference: str
    dimensions: dict[str, str]
    raw: tuple[str, ...]


@dataclass
class ValidationReport:
    errors: list[FieldError] = field(default_factory=list)
    error_count: int = 0
    error_codes: Counter[str] = field(default_factory=Counter)
    rows: int = 0  # data rows read (blank rows not counted)
    debit_total: Decimal = ZERO  # functional currency
    credit_total: Decimal = ZERO
    max_errors: int = 1000

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def difference(self) -> Decimal:
        return self.debit_total - self.credit_total

    def add(self, row: int | None, column: str, value: object, reason: str, code: str) -> None:
        self.error_count += 1
        self.error_codes[code] += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(FieldError(field=column, message=reason, code=code, row=row,
                                          value=None if value is None else str(value)))

    def raise_if_invalid(self) -> None:
        if not self.ok:
            more = self.error_count - len(self.errors)
            detail = f"{self.error_count:,} problem(s) found; nothing was imported"
            raise ImportValidationError(detail + (f" (the first {len(self.errors):,} are listed)" if more else ""),
                                        errors=self.errors, error_count=self.error_count,
                                        error_codes=dict(self.error_codes))


def cell_text(cell: Cell) -> str:
    """A cell as the text it shows: integral XLSX numbers without a trailing ``.0``."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, Decimal):
        return format(cell.normalize(), "f") if cell == cell.to_integral_value() else format(cell, "f")
    if isinstance(cell, datetime) and cell.time() == datetime.min.time():
        return cell.date().isoformat()
    return cell.isoformat()


class RowValidator:
    """Validates one file's rows against a mapping and a context; feeds a ``ValidationReport``."""

    def __init__(self, mapping: ColumnMapping, context: ImportContext, report: ValidationReport):
        self.m, self.ctx, self.report = mapping, context, report
        self.index: dict[str, int] = {}
        self.width = 0  # columns of the header row
        self._accounts: dict[str, AccountMatch | Refusal | None] = {}
        self._entities: dict[str, Any] = {}
        self._dates: dict[str, date | str] = {}  # text -> date, or the reason it is refused
        # The open source document: reference, first row, running sum, its date, dates already reported.
        self._group: tuple[str, int, Decimal, date | None, bool] | None = None

    def bind_header(self, row: SourceRow) -> bool:
        """Locate the mapped columns in the header row; False (with errors reported) if any is missing."""
        positions: dict[str, list[int]] = {}
        for i, cell in enumerate(row.cells):
            positions.setdefault(header_key(cell_text(cell)), []).append(i)
        # The header's width: its last non-blank cell (a spreadsheet pads rows with empty cells).
        self.width = max((i + 1 for i, cell in enumerate(row.cells) if cell_text(cell).strip()), default=0)
        ok = True
        for name in (c for c in self.m.columns().values() if c):
            found = positions.get(header_key(name), [])
            if not found:
                self.report.add(row.number, name, None, "column not found in the header row", "column_missing")
                ok = False
            elif len(found) > 1:
                self.report.add(row.number, name, None, "the header row has this column more than once",
                                "column_ambiguous")
                ok = False
            else:
                self.index[name] = found[0]
        return ok

    def _get(self, cells: tuple[Cell, ...], column: str | None) -> Cell:
        if not column:
            return ""
        i = self.index[column]
        return cells[i] if i < len(cells) else ""

    def validate(self, row: SourceRow) -> ImportRecord | None:
        cells = row.cells
        if all(isinstance(c, str) and not c.strip() for c in cells):
            return None
        self.report.rows += 1
        before = self.report.error_count
        m, n = self.m, row.number
        if len(cells) > self.width:
            self._beyond_header(n, cells)

        account_code = cell_text(self._get(cells, m.account)).strip()
        match = self._account(n, account_code)
        amount = self._amount(n, cells)
        currency = self._currency(n, cells)
        functional = self._functional(n, cells, amount, currency)
        when = self._date(n, cells)
        counterparty_code = cell_text(self._get(cells, m.counterparty)).strip()
        counterparty = self._counterparty(n, counterparty_code)
        reference = cell_text(self._get(cells, m.reference)).strip()
        if functional is not None:
            if functional > 0:
                self.report.debit_total += functional
            else:
                self.report.credit_total -= functional
            self._track_group(n, reference, functional, when)
        if amount is not None and functional is not None and amount == 0 and functional == 0:
            if m.kind == ImportKind.TRIAL_BALANCE and self.report.error_count == before:
                return None  # an account with no balance: nothing to post (a journal line is never zero)
            self.report.add(n, m.amount or f"{m.debit}/{m.credit}", self._amount_text(cells),
                            "the amount is zero (or blank): a journal line cannot be zero; remove the row",
                            "amount_zero")
        if self.report.error_count != before:
            return None
        assert amount is not None and functional is not None and currency is not None
        return ImportRecord(
            row=n, account_code=account_code, account=match.account if isinstance(match, AccountMatch) else None,
            currency=currency, amount=amount, functional_amount=functional, date=when,
            counterparty_code=counterparty_code, counterparty=counterparty,
            description=cell_text(self._get(cells, m.description)), reference=reference,
            dimensions={k: cell_text(self._get(cells, col)).strip() for k, col in m.dimensions.items()},
            raw=tuple(cell_text(c) for c in cells),
        )

    def _beyond_header(self, n: int, cells: tuple[Cell, ...]) -> None:
        """A value in a column the header does not name would be posted nowhere (kept only in the
        raw row): the row has shifted, or a delimiter inside a value was not quoted."""
        for i in range(self.width, len(cells)):
            text = cell_text(cells[i]).strip()
            if text:
                self.report.add(n, "row", text[:100], f"the row has a value in column {i + 1}, but the header row "
                                f"has {self.width} columns", "row_too_wide")
                return

    def _account(self, n: int, code: str) -> AccountMatch | Refusal | None:
        if not code:
            self.report.add(n, self.m.account, "", "the account is blank", "account_missing")
            return None
        if code in self._accounts:
            match = self._accounts[code]
        else:
            match = self.ctx.account_lookup(code)
            if len(self._accounts) < LOOKUP_CACHE_MAX:
                self._accounts[code] = match
        if match is None:
            self.report.add(n, self.m.account, code, "unknown account", "account_unknown")
        elif isinstance(match, Refusal):
            self.report.add(n, self.m.account, code, match.reason, match.code)
        return match

    def _number(self, n: int, column: str, cell: Cell) -> tuple[bool, Decimal | None]:
        """One amount cell: (True, value or None when blank), or (False, None) with the error reported."""
        try:
            if isinstance(cell, Decimal):
                return True, check_amount_precision(cell)
            if not isinstance(cell, str):
                raise AmountError("a date, not a number")
            value = parse_amount(cell, decimal_comma=self.m.decimal_comma)
            return True, None if value is None else check_amount_precision(value)
        except AmountError as exc:
            self.report.add(n, column, cell_text(cell), str(exc), "amount_invalid")
            return False, None

    def _amount(self, n: int, cells: tuple[Cell, ...]) -> Decimal | None:
        m = self.m
        if m.amount:
            ok, value = self._number(n, m.amount, self._get(cells, m.amount))
            if ok and value is None and not m.empty_amount_is_zero:
                self.report.add(n, m.amount, "", "the amount is blank", "amount_missing")
                return None
            return (value or ZERO) if ok else None
        assert m.debit and m.credit
        debit_cell, credit_cell = self._get(cells, m.debit), self._get(cells, m.credit)
        debit_ok, debit = self._number(n, m.debit, debit_cell)
        credit_ok, credit = self._number(n, m.credit, credit_cell)
        if not (debit_ok and credit_ok):
            return None
        if debit and credit:
            self.report.add(n, f"{m.debit}/{m.credit}", f"{cell_text(debit_cell)}/{cell_text(credit_cell)}",
                            "debit and credit are both set", "debit_and_credit")
            return None
        if debit is None and credit is None and not m.empty_amount_is_zero:
            self.report.add(n, f"{m.debit}/{m.credit}", "", "debit and credit are both blank", "amount_missing")
            return None
        return (debit or ZERO) - (credit or ZERO)

    def _currency(self, n: int, cells: tuple[Cell, ...]) -> str | None:
        raw = cell_text(self._get(cells, self.m.currency)).strip()
        if not raw:
            return self.ctx.functional_currency
        code = raw.upper()
        if code not in ISO_4217:
            self.report.add(n, self.m.currency or "currency", raw, "unknown currency (not an ISO 4217 code)",
                            "currency_unknown")
            return None
        return code

    def _functional(self, n: int, cells: tuple[Cell, ...], amount: Decimal | None, currency: str | None
                    ) -> Decimal | None:
        column = self.m.functional_amount
        given: Decimal | None = None
        if column:
            ok, given = self._number(n, column, self._get(cells, column))
            if not ok:
                return None
        if amount is None or currency is None:
            return None
        if currency == self.ctx.functional_currency:
            if given is not None and given != amount:
                self.report.add(n, column or "", cell_text(self._get(cells, column)),
                                f"differs from the amount, which is already in {currency}", "functional_mismatch")
                return None
            return amount
        if given is None:
            self.report.add(n, column or "functional amount", "",
                            f"a {currency} line needs its amount in {self.ctx.functional_currency}",
                            "functional_missing")
        elif (given > 0 and amount < 0) or (given < 0 and amount > 0):
            self.report.add(n, column or "functional amount", cell_text(self._get(cells, column)),
                            f"the {self.ctx.functional_currency} amount has the other sign than the {currency} "
                            "amount", "functional_sign")
        return given

    def _date(self, n: int, cells: tuple[Cell, ...]) -> date | None:
        column = self.m.date
        if not column:
            return None
        cell = self._get(cells, column)
        if isinstance(cell, datetime):
            value: date = cell.date()
        elif isinstance(cell, date):
            value = cell
        elif isinstance(cell, Decimal):
            self.report.add(n, column, cell_text(cell), "a number, not a date", "date_invalid")
            return None
        elif not cell.strip():
            if self.m.kind == ImportKind.GL_DETAIL:
                self.report.add(n, column, "", "the date is blank", "date_missing")
            return None
        else:
            parsed = self._dates.get(cell)
            if parsed is None:
                parsed = self._parse_date(cell)
                if len(self._dates) < LOOKUP_CACHE_MAX:
                    self._dates[cell] = parsed
            if isinstance(parsed, str):
                self.report.add(n, column, cell, parsed, "date_invalid")
                return None
            value = parsed
        if not self.ctx.period_start <= value <= self.ctx.period_end:
            start, end = self.ctx.period_start.isoformat(), self.ctx.period_end.isoformat()
            self.report.add(n, column, cell_text(cell), f"outside the period {start} to {end}", "date_outside_period")
            return None
        return value

    def _parse_date(self, text: str) -> date | str:
        """A date from text in the mapping's format, or the reason it is not one. Cached per text:
        a period has few distinct dates, and strptime is the slowest step of a row."""
        try:
            return datetime.strptime(text.strip(), self.m.date_format).date()
        except ValueError:
            return f"not a date in the format {self.m.date_format}"

    def _counterparty(self, n: int, code: str) -> Any:
        if not code or self.ctx.entity_lookup is None:
            return None
        if code not in self._entities:
            self._entities[code] = self.ctx.entity_lookup(code)
        found = self._entities[code]
        if found is None:
            self.report.add(n, self.m.counterparty or "", code, "unknown entity", "entity_unknown")
        return found

    def _amount_text(self, cells: tuple[Cell, ...]) -> str:
        if self.m.amount:
            return cell_text(self._get(cells, self.m.amount))
        return f"{cell_text(self._get(cells, self.m.debit))}/{cell_text(self._get(cells, self.m.credit))}"

    def _track_group(self, n: int, reference: str, amount: Decimal, when: date | None) -> None:
        """Lines of one source document (contiguous rows sharing a reference) must balance and share
        one date: the document is posted as one journal entry, and an entry has one date."""
        if not self.m.reference:
            return
        if self._group and self._group[0] == reference:
            ref, first, total, first_date, reported = self._group
            if when is not None and first_date is not None and when != first_date and not reported:
                self.report.add(n, self.m.date or "", when.isoformat(),
                                f"document {ref} starts on row {first} dated {first_date.isoformat()}: the lines "
                                "of one document must share one date", "document_dates_differ")
                reported = True
            self._group = (ref, first, total + amount, first_date or when, reported)
            return
        self._close_group()
        self._group = (reference, n, amount, when, False)

    def _close_group(self) -> None:
        if self._group and self._group[2] != 0:
            ref, first, total, _, _ = self._group
            self.report.add(first, self.m.reference or "", ref, f"the lines of this document do not balance "
                            f"(difference {total})", "document_unbalanced")
        self._group = None

    def finish(self) -> None:
        self._close_group()
        r = self.report
        if r.rows == 0:
            r.add(None, "file", None, "the file has no data rows", "no_data")
        elif r.difference != 0:
            label = "trial balance" if self.m.kind == ImportKind.TRIAL_BALANCE else "file"
            r.add(None, self.m.amount or f"{self.m.debit}/{self.m.credit}", r.difference,
                  f"the {label} does not balance: debits {r.debit_total}, credits {r.credit_total}, "
                  f"difference {r.difference} {self.ctx.functional_currency}", "not_balanced")


def hashed_rows(rows: Iterable[SourceRow], digest, *, header_row: int = 1) -> Iterator[SourceRow]:
    """Pass the rows through, feeding ``digest`` with them as read: every cell as text without
    surrounding spaces, trailing empty cells and blank rows dropped, from the header row on. Two
    files with the same rows hash alike whatever their line endings, BOM, delimiter, quoting or
    encoding (issue 15.10)."""
    for row in rows:
        if row.number >= header_row:
            cells = [cell_text(c).strip() for c in row.cells]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                digest.update("\x1f".join(cells).encode("utf-8", "surrogatepass") + b"\x1e")
        yield row


def validate_rows(rows: Iterable[SourceRow], mapping: ColumnMapping, context: ImportContext,
                  report: ValidationReport) -> Iterator[ImportRecord]:
    """Yield the valid records; every problem lands in ``report``. Consume fully, then check ``report.ok``."""
    problems = mapping.problems()
    for problem in problems:
        report.add(None, "mapping", None, problem, "mapping_invalid")
    if problems:
        return
    if not context.period_open:
        report.add(None, "period", context.period_label or None, "the period is not open", "period_not_open")
    validator = RowValidator(mapping, context, report)
    bound = False
    for row in rows:
        if row.number < mapping.header_row:
            continue
        if row.number == mapping.header_row:
            if not validator.bind_header(row):
                return
            bound = True
            continue
        record = validator.validate(row)
        if record is not None:
            yield record
    if not bound:
        report.add(None, "file", None, f"the file has no header row {mapping.header_row}", "no_header")
        return
    validator.finish()


def validate_file(stream: BinaryIO, *, mapping: ColumnMapping, context: ImportContext,
                  limits: ImportLimits | None = None, filename: str = "") -> tuple[FileInfo, ValidationReport]:
    """Read and validate a whole file without keeping it; raises ``ImportFileError`` if unreadable."""
    limits = limits or ImportLimits.from_settings()
    info = inspect_file(stream, limits=limits, filename=filename, header_row=mapping.header_row,
                        encoding=mapping.encoding, delimiter=mapping.delimiter)
    report = ValidationReport(max_errors=context.max_errors)
    for _record in validate_rows(iter_rows(stream, info, limits=limits, sheet=mapping.sheet), mapping, context, report):
        pass
    return info, report
