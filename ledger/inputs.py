"""Plain inputs to ledger services (the API and imports build these; services validate them)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class LineInput:
    account_id: int
    amount: Decimal  # signed, debit positive, in ``currency``
    currency: str | None = None  # None: the entity's functional currency
    rate: Decimal = Decimal(1)  # functional units per one unit of ``currency``
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
