"""Write the demo group's GL-detail export files (sheshi/demo/files/), once; they are committed.

    .venv/bin/python -m sheshi.demo.make_files          # rewrites every file; a no-op diff if unchanged

One file per entity per month of 2026, as each entity's ERP exports it (sheshi/demo/sources.py).
The figures come from a fixed seed, drawn in the same order as the demo loader drew them when it
posted directly, so the demo's balances did not change when it moved to the import path. Plain
Python: no database, no Django settings needed.
"""
from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sheshi.demo.chart import UK_CODE_FOR, UK_DEPRECIATION_CREDIT
from sheshi.demo.sources import SAGE_UK_HEADER, SAP_HEADER, SOURCE_FOR_ENTITY

FILES = Path(__file__).resolve().parent / "files"
YEAR = 2026
SEED = 2026
CENT = Decimal("0.01")
# code, name, functional currency, country, monthly sales (functional currency)
ENTITIES = [
    ("HOLD", "Sheshi Holding GmbH", "EUR", "DE", Decimal("180000")),
    ("UK", "Sheshi UK Ltd", "GBP", "GB", Decimal("95000")),
    ("US", "Sheshi Inc.", "USD", "US", Decimal("140000")),
    ("FR", "Sheshi France SAS", "EUR", "FR", Decimal("60000")),
]
PARENT = "HOLD"


@dataclass
class Doc:
    """One source document: a date, a text and balanced lines (group account, signed amount, partner)."""

    day: date
    text: str
    lines: list[tuple[str, Decimal, str]]


def _money(x: Decimal) -> Decimal:
    return x.quantize(CENT)


# The group (consolidation/demo.py): HOLD holds UK 100 % and US 80 % from their formation on
# 1 January; UK buys 60 % of FR, a company trading since January, on 1 April. Prices paid:
INVESTMENTS = [
    # buyer, subsidiary, date, price (buyer's currency), text
    ("HOLD", "UK", date(YEAR, 1, 1), Decimal("327750.00"), "Subscription of Sheshi UK Ltd shares (GBP 285,000)"),
    ("HOLD", "US", date(YEAR, 1, 1), Decimal("300000.00"), "Purchase of 80% of Sheshi Inc."),
    ("UK", "FR", date(YEAR, 4, 1), Decimal("120000.00"), "Purchase of 60% of Sheshi France SAS"),
]
BANK_LOAN = Decimal("600000.00")  # HOLD borrows to pay for its subsidiaries
# HOLD charges FR a management fee each quarter after the acquisition, in EUR on both sides. FR
# booked the September invoice short (disputed): the demo's deliberate intercompany mismatch.
IC_FEE = Decimal("6000.00")
IC_FEE_MONTHS = (6, 9, 12)
IC_SHORT = {9: Decimal("5400.00")}


def month_docs(rng: random.Random, month: int, sales: Decimal, partner: str | None) -> list[Doc]:
    """A month of a trading entity's books: sales on account, cash collected, cost of sales,
    payroll, rent, depreciation; and FR's side of the quarterly intercompany management fee."""
    s = _money(sales * Decimal(rng.uniform(0.85, 1.15)))
    cogs = _money(s * Decimal("0.58"))
    pay = _money(s * Decimal("0.18"))
    rent = _money(s * Decimal("0.05"))
    dep = _money(s * Decimal("0.02"))
    collected = _money(s * Decimal(rng.uniform(0.8, 1.0)))

    def two(dr: str, cr: str, amount: Decimal, day: int, text: str, cp: str = "") -> Doc:
        return Doc(date(YEAR, month, day), text, [(dr, amount, cp), (cr, -amount, cp)])

    mm = f"{month:02d}/{YEAR}"
    docs = [
        two("1200", "4100", s, 25, f"Sales invoices {mm}"),
        two("1100", "1200", collected, 28, f"Customer receipts {mm}"),
        two("5100", "1300", cogs, 25, f"Cost of goods sold {mm}"),
        two("1300", "2100", _money(cogs * Decimal("1.02")), 10, f"Inventory purchases {mm}"),
        two("5300", "1100", pay, 27, f"Payroll {mm}"),
        two("5400", "2300", rent, 1, f"Rent and utilities {mm}"),
        two("5500", "1500", dep, 28, f"Depreciation {mm}"),
        two("2100", "1100", _money(cogs * Decimal("0.95")), 20, f"Supplier payments {mm}"),
    ]
    if partner is not None and month in IC_FEE_MONTHS:
        fee = IC_SHORT.get(month, IC_FEE)
        docs.append(two("5200", "2250", fee, 15, f"Management fee from {partner}", partner))
    return docs


def generate() -> dict[tuple[str, int], list[Doc]]:
    """(entity, month) → that month's documents, in date order."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo figures, not security
    books: dict[tuple[str, int], list[Doc]] = {(code, m): [] for code, *_ in ENTITIES for m in range(1, 13)}
    for code, _name, _cur, _cc, sales in ENTITIES:
        capital = _money(sales * 3)
        books[(code, 1)].append(Doc(date(YEAR, 1, 1), "Share capital paid in",
                                    [("1100", capital, ""), ("3100", -capital, "")]))
        for m in range(1, 13):
            books[(code, m)] += month_docs(rng, m, sales, PARENT if code == "FR" else None)
    for m in IC_FEE_MONTHS:  # the parent's side of the management fees
        books[(PARENT, m)].append(Doc(date(YEAR, m, 15), "Management fee to FR",
                                      [("1250", IC_FEE, "FR"), ("4200", -IC_FEE, "FR")]))
    books[(PARENT, 1)].append(Doc(date(YEAR, 1, 1), "Bank loan drawn", [("1100", BANK_LOAN, ""),
                                                                        ("2400", -BANK_LOAN, "")]))
    for buyer, sub, day, price, text in INVESTMENTS:
        books[(buyer, day.month)].append(Doc(day, text, [("1600", price, sub), ("1100", -price, "")]))
    for docs in books.values():
        docs.sort(key=lambda d: d.day)  # stable: same-day documents keep their order
    return books


def _decimal_comma(x: Decimal) -> str:
    """12345.6 → '12.345,60' (dot thousands, decimal comma)."""
    return f"{x:,.2f}".translate(str.maketrans(",.", ".,"))


def render(entity: str, currency: str, month: int, docs: list[Doc]) -> bytes:
    out = io.StringIO(newline="")
    if SOURCE_FOR_ENTITY[entity] == "SAGE-UK":
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(SAGE_UK_HEADER)
        for n, doc in enumerate(docs, start=1):
            for account, amount, partner in doc.lines:
                local = UK_DEPRECIATION_CREDIT if account == "1500" and doc.text.startswith("Depreciation") \
                    else UK_CODE_FOR[account]
                writer.writerow([doc.day.strftime("%d/%m/%Y"), f"UK{month:02d}-{n:03d}", local,
                                 f"{doc.text} (GBP £)", _decimal_comma(amount) if amount > 0 else "",
                                 _decimal_comma(-amount) if amount < 0 else "", partner])
        return out.getvalue().encode("cp1252")
    writer = csv.writer(out, delimiter=",", lineterminator="\n")
    writer.writerow(SAP_HEADER)
    for n, doc in enumerate(docs, start=1):
        for account, amount, partner in doc.lines:
            writer.writerow([doc.day.isoformat(), f"{entity}{YEAR}{month:02d}{n:04d}", account, doc.text,
                             f"{amount:.2f}", currency, partner])
    return out.getvalue().encode("utf-8")


def file_name(entity: str, month: int) -> str:
    return f"{entity}-{YEAR}-{month:02d}.csv"


def main() -> None:
    FILES.mkdir(exist_ok=True)
    currency = {code: cur for code, _n, cur, *_ in ENTITIES}
    for (entity, month), docs in generate().items():
        (FILES / file_name(entity, month)).write_bytes(render(entity, currency[entity], month, docs))
    print(f"wrote {len(list(FILES.glob('*.csv')))} files to {FILES}")


if __name__ == "__main__":
    main()
