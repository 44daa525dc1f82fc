"""The demo organisation as a consolidation group, through the consolidation services.

HOLD (EUR) holds UK (GBP) 100 % and US (USD) 80 % from their formation on 1 January 2026; UK buys
60 % of FR (EUR, trading since January) on 1 April 2026 - an indirect holding acquired during the
year, with its first-quarter profit as pre-acquisition P&L. The books already hold the investments
and the HOLD-FR management fee, whose September invoice FR booked short: the one deliberate
intercompany mismatch (sheshi/demo/make_files.py). Monthly closing and year-to-date average rates,
historical rates on the acquisition dates. Every month through November 2026 is consolidated,
synchronously, through the service the job runs (consolidation_run_execute).
"""
from __future__ import annotations

import time
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from consolidation.models import AdjustmentKind, ConsolidationGroup, ConsolidationRun, RunStatus
from consolidation.services.posting import elimination_ledger_ensure
from consolidation.services.runs import (
    adjustment_record,
    consolidation_group_create,
    consolidation_run_create,
    consolidation_run_execute,
    fx_rate_create,
    group_member_add,
)
from ledger.models import Account
from ledger.selectors.reports import trial_balance
from periods.models import Period
from sheshi.access.roles import Role
from sheshi.access.services.grants import role_grant
from sheshi.tenancy.models import Entity, Organisation

YEAR = 2026
GROUP_CODE = "SHESHI"
GROUP_NAME = "Sheshi Group"
RATE_SOURCE = "demo (illustrative, not market data)"
# Closing rates, EUR per unit, at the end of each month of 2026.
CLOSING = {
    "GBP": ["1.1520", "1.1485", "1.1610", "1.1570", "1.1450", "1.1390",
            "1.1420", "1.1530", "1.1605", "1.1660", "1.1580", "1.1620"],
    "USD": ["0.8650", "0.8710", "0.8590", "0.8520", "0.8480", "0.8610",
            "0.8740", "0.8800", "0.8690", "0.8630", "0.8570", "0.8520"],
}
# Historical rates on the acquisition dates (HOLD subscribed UK's GBP 285,000 for EUR 327,750).
HISTORICAL = [("GBP", date(YEAR, 1, 1), "1.1500"), ("USD", date(YEAR, 1, 1), "0.8600"),
              ("GBP", date(YEAR, 4, 1), "1.1600")]
OPENING = {"GBP": Decimal("1.1500"), "USD": Decimal("0.8600")}
# entity, parent, ownership %, acquired on
HOLDINGS = [("UK", "HOLD", "100", date(YEAR, 1, 1)), ("US", "HOLD", "80", date(YEAR, 1, 1)),
            ("FR", "UK", "60", date(YEAR, 4, 1))]
# Share capital of each subsidiary at acquisition, functional currency (retained earnings were nil
# on 1 January; FR's first-quarter result is its pre-acquisition P&L).
SHARE_CAPITAL = {"UK": "285000.00", "US": "420000.00", "FR": "180000.00"}
CONSOLIDATED_MONTHS = range(1, 12)  # the story is told on 1 December 2026: January-November are closed
# Who sees the consolidation ledger and who may post manual adjustments there.
# The controller prepares adjustments, the approver approves and posts them (four eyes), the auditor reads.
LEDGER_ROLES = [("controller", Role.CONTROLLER), ("auditor", Role.AUDITOR), ("approver", Role.APPROVER)]


def average_rates(ccy: str) -> list[Decimal]:
    """Year-to-date average at each month end: the mean of the months' averages, each the mean of
    the opening and closing rate of the month (six places, half-even)."""
    out, months, previous = [], [], OPENING[ccy]
    for closing in (Decimal(c) for c in CLOSING[ccy]):
        months.append((previous + closing) / 2)
        out.append((sum(months) / len(months)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))
        previous = closing
    return out


def _rates(org: Organisation, periods: dict[int, Period]) -> None:
    for ccy, closing in CLOSING.items():
        for month, (close, avg) in enumerate(zip(closing, average_rates(ccy), strict=True), start=1):
            on = periods[month].end_date
            fx_rate_create(actor=None, organisation=org, from_currency=ccy, to_currency=org.group_currency,
                           rate_type="closing", rate_date=on, rate=Decimal(close), source=RATE_SOURCE)
            fx_rate_create(actor=None, organisation=org, from_currency=ccy, to_currency=org.group_currency,
                           rate_type="average", rate_date=on, rate=avg, source=RATE_SOURCE)
    for ccy, on, rate in HISTORICAL:
        fx_rate_create(actor=None, organisation=org, from_currency=ccy, to_currency=org.group_currency,
                       rate_type="historical", rate_date=on, rate=Decimal(rate), source=RATE_SOURCE)


def _acquisition_facts(group: ConsolidationGroup, entities: dict[str, Entity], periods: dict[int, Period]) -> None:
    accounts = {a.code: a for a in Account.objects.filter(organisation_id=group.organisation_id)}
    capital = next(a for a in accounts.values() if a.role == "share_capital")
    for code, amount in SHARE_CAPITAL.items():
        adjustment_record(actor=None, group=group, kind=AdjustmentKind.NET_ASSETS, entity=entities[code],
                          lines=[(capital, -Decimal(amount))])
    # FR's income and expense of January-March, as its books show them at the end of March.
    fr = entities["FR"]
    pre = [(accounts[row.code], row.net) for row in trial_balance(entity=fr, period=periods[3]).rows
           if row.code in accounts and accounts[row.code].type in ("revenue", "expense")
           and accounts[row.code].kind == "posting" and row.net]
    adjustment_record(actor=None, group=group, kind=AdjustmentKind.PRE_ACQUISITION_PL, entity=fr, lines=pre)


def load_demo_group(org: Organisation, *, users: dict, stdout=None) -> ConsolidationGroup:
    """Set the group up and consolidate January-November. Runs inside load_demo's transaction,
    before the first quarter is locked (rates and eliminations of a locked period are frozen)."""
    started = time.perf_counter()
    entities = {e.code: e for e in Entity.objects.filter(organisation=org)}
    periods = {p.number: p for p in Period.objects.filter(organisation=org, fiscal_year__start_date__year=YEAR,
                                                            number__lte=12)}
    group = consolidation_group_create(actor=None, organisation=org, code=GROUP_CODE, name=GROUP_NAME,
                                       top_entity=entities["HOLD"])
    for code, parent, pct, acquired in HOLDINGS:
        group_member_add(actor=None, group=group, entity=entities[code], parent=entities[parent],
                         ownership_pct=Decimal(pct), acquired_on=acquired)
    _rates(org, periods)
    _acquisition_facts(group, entities, periods)

    ledger = elimination_ledger_ensure(group_id=group.pk)
    for username, role in LEDGER_ROLES:
        if username in users:
            role_grant(actor=None, user=users[username], entity=ledger, role=role)
    runs = []
    for month in CONSOLIDATED_MONTHS:
        # Executed here, not queued: the worker would find each run finished and do nothing.
        run = consolidation_run_create(actor=None, group=group, period=periods[month], label="demo")
        runs.append(consolidation_run_execute(run_id=run.pk))
    failed = [r for r in runs if r.status != RunStatus.SUCCEEDED]
    if failed:
        raise RuntimeError(f"Demo consolidation failed: {[(r.period.code, r.error) for r in failed]}")
    if stdout:
        stdout.write(f"  group {GROUP_CODE}: set up and {len(runs)} monthly runs (2026-01 to "
                     f"2026-{runs[-1].period.number:02d}) in {time.perf_counter() - started:.1f} s")
    return group


def demo_runs(org: Organisation) -> list[ConsolidationRun]:
    return list(ConsolidationRun.objects.filter(group__organisation=org, group__code=GROUP_CODE)
                .select_related("period").order_by("period__start_date", "pk"))
