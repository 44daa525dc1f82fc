"""Shared test data for the import tests: a small local chart, two partner entities, January 2026."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from ledger.imports.mapping import ColumnMapping, ImportKind
from ledger.imports.reading import ImportLimits
from ledger.imports.validation import AccountMatch, ImportContext, Refusal, ValidationReport

FILES = Path(__file__).resolve().parent / "files"

CHART = {code: AccountMatch(account=int(code), group_code=f"G{code}")
         for code in ("1000", "1200", "2000", "3000", "4000", "5000")}
CHART["9999"] = Refusal("not mapped to the group chart")
ENTITIES = {"FR01": 2, "DE01": 1}

TB = ColumnMapping(kind=ImportKind.TRIAL_BALANCE, account="Account", debit="Debit", credit="Credit",
                   description="Name")


def context(**overrides) -> ImportContext:
    values = {"functional_currency": "EUR", "period_start": date(2026, 1, 1), "period_end": date(2026, 1, 31),
              "account_lookup": CHART.get, "entity_lookup": ENTITIES.get}
    return ImportContext(**{**values, **overrides})


def limits(**overrides) -> ImportLimits:
    return ImportLimits(**{"max_bytes": 10 * 1024 * 1024, "max_rows": 100_000, **overrides})


def problems(report: ValidationReport) -> list[tuple]:
    """Every problem as (row, column, value, reason)."""
    return [(e.row, e.field, e.value, e.message) for e in report.errors]
