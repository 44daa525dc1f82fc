"""Which column of a source file means what. Saved per source system (as JSON) so the next file
from the same ERP needs no set-up; this module is the plain value, the model stores ``as_dict()``.

Columns are named by their header text, matched without regard to case, surrounding spaces or
repeated inner spaces. A file gives either a signed amount (positive = debit) or a debit and a
credit column, never both.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class ImportKind(StrEnum):
    TRIAL_BALANCE = "trial_balance"
    GL_DETAIL = "gl_detail"


DELIMITERS = (",", ";", "\t", "|")


def header_key(text: object) -> str:
    """How a header cell is compared with a mapped column name."""
    return re.sub(r"\s+", " ", str(text if text is not None else "")).strip().casefold()


@dataclass(frozen=True)
class ColumnMapping:
    kind: ImportKind
    account: str
    amount: str | None = None  # signed amount, positive = debit
    debit: str | None = None
    credit: str | None = None
    currency: str | None = None  # blank or unmapped: the entity's functional currency
    functional_amount: str | None = None  # signed, needed for lines not in the functional currency
    date: str | None = None
    date_format: str = "%Y-%m-%d"
    counterparty: str | None = None  # intercompany partner entity code
    description: str | None = None
    reference: str | None = None  # source document number; lines sharing one must balance
    dimensions: dict[str, str] = field(default_factory=dict)  # dimension name -> column
    header_row: int = 1  # 1-based; rows above it (report titles) are skipped
    decimal_comma: bool = False
    empty_amount_is_zero: bool = True
    delimiter: str | None = None  # None: sniffed from the file
    encoding: str | None = None  # None: detected (UTF-8 with or without BOM, else Windows-1252)
    sheet: str | None = None  # XLSX: None means the first sheet

    def problems(self) -> list[str]:
        """What makes this mapping unusable; empty when it is fine."""
        out = []
        if not self.account:
            out.append("the account column is required")
        signed, split = self.amount is not None, (self.debit is not None, self.credit is not None)
        if signed and any(split):
            out.append("map either a signed amount or debit and credit columns, not both")
        elif not signed and not all(split):
            out.append("map a signed amount column, or both a debit and a credit column")
        if self.kind == ImportKind.GL_DETAIL and not self.date:
            out.append("GL detail needs a date column")
        if self.header_row < 1:
            out.append("the header row is counted from 1")
        if self.delimiter is not None and self.delimiter not in DELIMITERS:
            out.append("the delimiter must be one of , ; tab |")
        columns = [c for c in self.columns().values() if c]
        seen: set[str] = set()
        for col in columns:
            if header_key(col) in seen:
                out.append(f"column '{col}' is mapped twice")
            seen.add(header_key(col))
        if self.encoding is not None and self.encoding.lower() not in ("utf-8", "utf-8-sig", "cp1252", "windows-1252"):
            out.append("the encoding must be UTF-8 or Windows-1252")
        return out

    def columns(self) -> dict[str, str | None]:
        """Field name -> mapped column, dimensions as ``dimension:<name>``."""
        fixed = {name: getattr(self, name) for name in (
            "account", "amount", "debit", "credit", "currency", "functional_amount", "date", "counterparty",
            "description", "reference")}
        fixed.update({f"dimension:{k}": v for k, v in self.dimensions.items()})
        return fixed

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = str(self.kind)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnMapping:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown mapping fields: {', '.join(sorted(unknown))}")
        values = dict(data)
        values["kind"] = ImportKind(values["kind"])
        values["dimensions"] = dict(values.get("dimensions") or {})
        return cls(**values)
