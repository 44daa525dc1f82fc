"""Plain inputs to ledger services (the API and imports build these; services validate them)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sheshi.money import RATE_DIGITS, RATE_PLACES

_RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
_RATE_LIMIT = Decimal(10) ** (RATE_DIGITS - RATE_PLACES)
ONE = Decimal(1)  # the rate line_rate gives a functional-currency line (this object: `is` tests hold)
_ONE = ONE


@dataclass(frozen=True)
class LineInput:
    account_id: int
    amount: Decimal  # signed, debit positive, in ``currency``
    currency: str | None = None  # None: the entity's functional currency
    # Functional units per one unit of ``currency``. None: not given — 1 for a line in the
    # functional currency; a foreign-currency line without one is refused (never booked at 1).
    rate: Decimal | None = None
    functional_amount: Decimal | None = None  # None: amount × rate, rounded half-even to 4 places
    counterparty_id: int | None = None
    dimensions: dict = field(default_factory=dict)
    memo: str = ""
    source_row: int | None = None
    source_raw: str = ""


@dataclass(frozen=True)
class EntryInput:
    entry_date: date
    description: str
    lines: list[LineInput]
    period_id: int | None = None  # None: the organisation's regular period containing entry_date
    reference: str = ""  # the preparer's own reference (an invoice number, a schedule's name)
    # An accrual reversed automatically when posted: on ``reverse_on``, or with ``auto_reverse``
    # alone on the first day of the period after the entry's.
    reverse_on: date | None = None
    auto_reverse: bool = False
    # The entry's source on the bulk path when a batch mixes sources (None: the batch's own), so
    # one batch - one staging, one posting statement - can carry them all (a consolidation run's
    # translation and elimination journals).
    source: str | None = None


def line_rate(line: LineInput, *, currency: str, functional_currency: str) -> tuple[Decimal | None, str, str]:
    """The rate a line is booked at, or (None, code, reason) when it cannot be booked.

    A foreign-currency line needs a positive rate; with none given but a functional amount, the
    rate is the one that amount implies (what an ERP export carries), rounded to the stored places."""
    rate = line.rate
    if rate is None:
        if currency == functional_currency:
            return _ONE, "", ""
        if line.functional_amount is None or line.amount == 0:
            return None, "rate_required", (f"A {currency} line needs a rate to {functional_currency} "
                                           "(or its functional amount).")
        implied = abs(line.functional_amount / line.amount).quantize(_RATE_QUANTUM)
        if implied <= 0 or implied >= _RATE_LIMIT:
            return None, "invalid_rate", (f"The functional amount implies a rate of {implied:.6g}, which cannot be "
                                          "stored; give the rate.")
        return implied, "", ""
    if not rate.is_finite() or rate <= 0:
        return None, "invalid_rate", "The rate must be positive."
    if currency == functional_currency and rate != 1:
        return None, "invalid_rate", "Lines in the functional currency have rate 1."
    return rate, "", ""


# A frozen dataclass's generated __init__ (defaults, then object.__setattr__ looked up per field)
# takes ~1.8 µs a line; a 10,000-entry batch builds 30,000 of these, so its reader makes the
# common shapes here: the same objects (class, fields, equality), every field set, nothing
# checked less (the dataclasses have no __post_init__). Set attribute by attribute, not through
# __dict__.update: that would give each object a dict of its own (memory, and work for the cyclic
# collector where it runs).
_new = object.__new__
_set = object.__setattr__


def plain_line(account_id: int, amount: Decimal, source_row: int | None = None) -> LineInput:
    """LineInput(account_id, amount, source_row=source_row), every other field at its default."""
    line = _new(LineInput)
    _set(line, "account_id", account_id)
    _set(line, "amount", amount)
    _set(line, "currency", None)
    _set(line, "rate", None)
    _set(line, "functional_amount", None)
    _set(line, "counterparty_id", None)
    _set(line, "dimensions", {})
    _set(line, "memo", "")
    _set(line, "source_row", source_row)
    _set(line, "source_raw", "")
    return line


def entry_of(entry_date: date, description: str, lines: list[LineInput], period_id: int | None,
             reference: str) -> EntryInput:
    """EntryInput(entry_date, description, lines, period_id, reference), the rest at its default."""
    entry = _new(EntryInput)
    _set(entry, "entry_date", entry_date)
    _set(entry, "description", description)
    _set(entry, "lines", lines)
    _set(entry, "period_id", period_id)
    _set(entry, "reference", reference)
    _set(entry, "reverse_on", None)
    _set(entry, "auto_reverse", False)
    _set(entry, "source", None)
    return entry
