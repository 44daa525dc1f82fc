"""Shared helpers for the consolidation tests: the worked cases and small engine inputs."""
from __future__ import annotations

import json
import pathlib
from datetime import date
from decimal import Decimal

from consolidation.engine import Account, AccountType, EngineInputs, Member, Role, TBLine
from consolidation.engine.types import Adjustments, NetAssetsAtAcquisition

CASES_DIR = pathlib.Path(__file__).parent / "cases"
CASES = sorted(p.name.removesuffix(".expected.json") for p in CASES_DIR.glob("*.expected.json"))


def case_text(name: str) -> str:
    return (CASES_DIR / f"{name}.json").read_text()


def case_data(name: str) -> dict:
    return json.loads(case_text(name))


def case_expected(name: str) -> dict:
    return json.loads((CASES_DIR / f"{name}.expected.json").read_text())


D = Decimal

CHART = (
    Account("1000", AccountType.ASSET),
    Account("1200", AccountType.ASSET, ic=True, ic_pair="2200"),
    Account("1500", AccountType.ASSET, role=Role.INVESTMENT),
    Account("1600", AccountType.ASSET, role=Role.GOODWILL),
    Account("2200", AccountType.LIABILITY, ic=True, ic_pair="1200"),
    Account("3000", AccountType.EQUITY, role=Role.SHARE_CAPITAL),
    Account("3100", AccountType.EQUITY, role=Role.RETAINED_EARNINGS),
    Account("3300", AccountType.EQUITY, role=Role.CTA),
    Account("3400", AccountType.EQUITY, role=Role.NCI),
    Account("3500", AccountType.EQUITY, role=Role.NCI_PROFIT),
    Account("4000", AccountType.REVENUE),
    Account("5000", AccountType.EXPENSE),
)


def simple_inputs(*, pct: str = "80", cost: str = "900", sub_lines=None, rates=(), sub_ccy: str = "EUR",
                  na=(("3000", "-1000"),)) -> EngineInputs:
    """P holds pct% of S (acquired 2023-12-31); small balanced TBs."""
    sub_lines = sub_lines or [("1000", "1300"), ("3000", "-1000"), ("4000", "-500"), ("5000", "200")]
    lines = [TBLine("P", "1500", D(cost), "S"), TBLine("P", "1000", D(100) - D(cost)), TBLine("P", "3000", D(-100))]
    lines += [TBLine("S", row[0], D(row[1]), row[2] if len(row) > 2 else None) for row in sub_lines]
    return EngineInputs(
        group_currency="EUR", period_end=date(2024, 12, 31),
        members=(Member("P", "EUR"), Member("S", sub_ccy, "P", D(pct), date(2023, 12, 31))),
        accounts=CHART, lines=tuple(lines), rates=tuple(rates),
        adjustments=Adjustments(net_assets=(NetAssetsAtAcquisition("S", tuple((a, D(v)) for a, v in na)),)))
