"""Shared helpers for the consolidation tests: the worked cases and small engine inputs."""
from __future__ import annotations

import json
import pathlib
from collections import defaultdict
from datetime import date
from decimal import Decimal

from consolidation.engine import Account, AccountType, EngineInputs, Member, Role, TBLine
from consolidation.engine.types import Adjustments, NetAssetsAtAcquisition
from consolidation.selectors.journals import run_journals
from consolidation.selectors.run_reports import accounts_by_code, worksheet
from ledger.models import EntrySource, JournalLine

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


def ledger_explains_run(run) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """(consolidated TB of the run, what the ledgers say): each member's own books from the
    ledger's balances (balance sheet from inception, income and expense from the start of the
    fiscal year) at the member's closing rate, rounded to balance, plus the balances the run left
    in the group's consolidation ledger for the period. Read from the database, not from the
    run's journals."""
    from collections import defaultdict

    from django.db import connection

    from consolidation.engine.rounding import apportion

    period = run.period
    members = {code: t["closing_rate"] for code, t in run.results["translation"].items()}
    sql = """SELECT a.code, sum(b.functional_debit - b.functional_credit)
               FROM ledger_balance b JOIN ledger_account a ON a.id = b.account_id
               JOIN periods_period p ON p.id = b.period_id
               JOIN tenancy_entity e ON e.id = b.entity_id
              WHERE e.organisation_id = %s AND e.code = %s AND p.end_date <= %s
                AND (a.type IN ('asset', 'liability', 'equity') OR p.start_date >= %s)
              GROUP BY a.code"""
    explained: dict[str, Decimal] = defaultdict(Decimal)
    with connection.cursor() as cur:
        for code, closing in members.items():
            cur.execute(sql, [run.organisation_id, code, period.end_date, period.fiscal_year.start_date])
            rounded, _ = apportion({acc: amount * Decimal(closing) for acc, amount in cur.fetchall()})
            for acc, amount in rounded.items():
                explained[acc] += amount
        cur.execute("""SELECT a.code, sum(b.functional_debit - b.functional_credit)
                         FROM ledger_balance b JOIN ledger_account a ON a.id = b.account_id
                        WHERE b.entity_id = %s AND b.period_id = %s GROUP BY a.code""",
                    [run.group.elimination_entity_id, period.pk])
        for acc, amount in cur.fetchall():
            explained[acc] += amount
    tb = {k: Decimal(v) for k, v in run.results["consolidated_tb"].items()}
    return tb, {k: v for k, v in explained.items() if v != 0}


def cta_three_ways(run) -> tuple[dict[str, Decimal], dict[str, Decimal], dict[str, Decimal]]:
    """Each member's CTA as (the run page's members worksheet, the run's translation journals, the
    translation entries posted in the consolidation ledger): member -> amount, debit positive. The
    worksheet's member column holds the member's own CTA balance plus its translation difference;
    the journals' side is the member's ledger at closing plus its translation journal."""
    cta = run.results["cta_account"]
    columns, rows = worksheet(run, accounts_by_code(run))
    row = next((r for r in rows if r["code"] == cta), None)
    members = list(run.results["members_order"])
    sheet = {m: row["cells"][columns.index(m)] if row else Decimal(0) for m in members}
    rj = run_journals(run.results)
    journals: dict[str, Decimal] = {m: rj.members[m].get(cta, Decimal(0)) for m in members}
    posted: dict[str, Decimal] = defaultdict(Decimal, journals)
    for j in rj.journals:
        if j.kind == "translation":
            for member, account, amount in j.lines:
                if account == cta:
                    journals[member] += amount
    lines = JournalLine.objects.filter(entry_id__in=run.posted_entry_ids, entry__source=EntrySource.TRANSLATION,
                                       account__code=cta).values_list("dimensions", "amount")
    for dims, amount in lines:
        posted[dims["member"]] += amount
    return sheet, journals, dict(posted)
