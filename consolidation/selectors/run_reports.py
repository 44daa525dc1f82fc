"""Reads over a stored run for the admin and the API: the consolidated TB with account names, the
balance sheet and income statement split between owners and NCI, the members worksheet, the CTA
and NCI schedules, a member's part of one figure down to its ledger lines, and the comparison of
two runs of the same group and period.

Everything is rebuilt from the run's stored results (the record of what was consolidated), never
recomputed from today's ledger, except the ledger lines behind a member's balance.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection

from consolidation.engine.fingerprint import changed_sections
from consolidation.engine.rounding import r2
from consolidation.models import ConsolidationRun
from consolidation.selectors.explain import RATE_KEYS, account_components, member_columns
from ledger.models import Account, JournalLine
from ledger.selectors.reports import general_ledger
from periods.models import Period
from sheshi.errors import FieldError, NotFound, ValidationFailed
from sheshi.tenancy.models import Entity

ZERO = Decimal(0)
MEMBER_SOURCES = ("trial_balance", "translation_difference")
NCI_SCHEDULE_KEYS = ("at_acquisition", "nci_reserves", "nci_profit", "nci_cta", "dividends_to_nci", "closing")
HEADLINES = ("nci_equity", "nci_profit", "goodwill", "cta", "cta_nci", "profit_attributable_to_owners")


@dataclass
class Line:
    code: str
    name: str
    amount: Decimal  # natural sign for statements (assets, expenses debit-positive; the rest credit-positive)
    account_id: int | None = None


@dataclass
class Statements:
    assets: list[Line] = field(default_factory=list)
    liabilities: list[Line] = field(default_factory=list)
    owners_equity: list[Line] = field(default_factory=list)
    nci: list[Line] = field(default_factory=list)
    revenue: list[Line] = field(default_factory=list)
    expenses: list[Line] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)


def accounts_by_code(run: ConsolidationRun) -> dict[str, Account]:
    return {a.code: a for a in Account.objects.filter(organisation_id=run.organisation_id)}


def consolidated_tb(run: ConsolidationRun, accounts: dict[str, Account]) -> list[Line]:
    """Debit-positive, as stored; every account with its name (and id, for the links)."""
    out = []
    for code, amount in run.results["consolidated_tb"].items():
        acc = accounts.get(code)
        out.append(Line(code, acc.name if acc else "(not in the chart any more)", Decimal(amount),
                        acc.pk if acc else None))
    return sorted(out, key=lambda line: line.code)


def statements(run: ConsolidationRun, accounts: dict[str, Account]) -> Statements:
    """Balance sheet and income statement in natural signs. Owners' equity is every equity account
    but the NCI ones, plus the year's profit attributable to owners; NCI is the NCI accounts (which
    already hold their share of the year's profit, moved out of the owners' by the NCI-profit
    account). Assets = liabilities + owners' equity + NCI when the run balances."""
    st = Statements()
    results = run.results
    for line in consolidated_tb(run, accounts):
        acc = accounts.get(line.code)
        kind, role = (acc.type, acc.role) if acc else ("", "")
        if role == "nci_profit":
            continue  # shown as the NCI share of profit, below
        if role == "nci":
            st.nci.append(Line(line.code, line.name, -line.amount, line.account_id))
        elif kind == "asset":
            st.assets.append(line)
        elif kind == "liability":
            st.liabilities.append(Line(line.code, line.name, -line.amount, line.account_id))
        elif kind == "equity":
            st.owners_equity.append(Line(line.code, line.name, -line.amount, line.account_id))
        elif kind == "revenue":
            st.revenue.append(Line(line.code, line.name, -line.amount, line.account_id))
        else:
            st.expenses.append(line)
    total = {name: sum((x.amount for x in getattr(st, name)), ZERO)
             for name in ("assets", "liabilities", "owners_equity", "nci", "revenue", "expenses")}
    owners_profit = Decimal(results["profit_attributable_to_owners"])
    st.totals = {
        **total,
        "net_income": total["revenue"] - total["expenses"],
        "profit_owners": owners_profit,
        "profit_nci": Decimal(results["nci_profit"]),
        "owners_equity_with_profit": total["owners_equity"] + owners_profit,
    }
    st.totals["equity_and_liabilities"] = (st.totals["liabilities"] + st.totals["owners_equity_with_profit"]
                                           + total["nci"])
    st.totals["balances"] = st.totals["assets"] == st.totals["equity_and_liabilities"]
    return st


def worksheet(run: ConsolidationRun, accounts: dict[str, Account]) -> tuple[list[str], list[dict[str, Any]]]:
    """Members worksheet: one column per member (translated balance plus its translation
    difference), one per elimination kind, then the consolidated figure. Cells rounded to the cent."""
    results = run.results
    cols = member_columns(results)
    members = list(results["members_order"])
    kinds: list[str] = []
    for elim in results["eliminations"]:
        if elim["kind"] not in kinds:
            kinds.append(elim["kind"])
    columns = members + kinds
    rows = []
    for code in sorted(set(cols) | set(results["consolidated_tb"])):
        acc = accounts.get(code)
        rows.append({"code": code, "name": acc.name if acc else "", "account_id": acc.pk if acc else None,
                     "cells": [r2(cols.get(code, {}).get(c, ZERO)) for c in columns],
                     "consolidated": Decimal(results["consolidated_tb"].get(code, "0.00"))})
    return columns, rows


def cta_schedule(run: ConsolidationRun) -> list[dict[str, Any]]:
    return [{"member": code, **t} for code, t in sorted(run.results["translation"].items())]


def nci_schedule(run: ConsolidationRun) -> tuple[list[str], list[dict[str, Any]]]:
    by_member = run.results.get("nci_by_member", {})
    extra = sorted({k for d in by_member.values() for k in d} - set(NCI_SCHEDULE_KEYS))
    keys = [k for k in NCI_SCHEDULE_KEYS if any(k in d for d in by_member.values())] + extra
    return keys, [{"member": m, "values": [d.get(k, "") for k in keys]} for m, d in sorted(by_member.items())]


def figure_components(run: ConsolidationRun, code: str) -> list[dict[str, Any]]:
    comps = account_components(run.results, code)
    if not comps and code not in run.results["consolidated_tb"]:
        raise NotFound(f"Account {code} has no figures in run {run.pk}.")
    return comps


def member_figure(run: ConsolidationRun, code: str, entity_code: str) -> dict[str, Any]:
    """One member's part of a consolidated account: its local balance, the rate and the
    translated amount as the run stored them, and its translation difference on the CTA account."""
    results = run.results
    if entity_code not in results["member_balances"]:
        raise NotFound(f"{entity_code} is not a member in run {run.pk}.")
    translation = results["translation"][entity_code]
    local, translated, kind = results["member_balances"][entity_code].get(code, ["0", "0", None])
    cta = Decimal(translation["cta_exact"] or "0") if code == results.get("cta_account") else ZERO
    return {"entity": entity_code, "account": code, "currency": translation["currency"],
            "local_amount": Decimal(local), "rate_kind": RATE_KEYS.get(kind, ""),
            "rate": Decimal(translation[RATE_KEYS[kind]]) if kind else None,
            "translated": r2(Decimal(translated)), "translation_difference": r2(cta)}


def member_ledger_lines(run: ConsolidationRun, entity: Entity, account: Account, *, limit: int = 500) -> dict:
    """The member's posted lines behind its balance on ``account`` at the run's period: from the
    start of the fiscal year (after the opening balance, for balance-sheet accounts) to the period,
    each with its import file row where it came from a file."""
    period = run.period
    first = (Period.objects.filter(fiscal_year_id=period.fiscal_year_id).order_by("start_date").first() or period)
    gl = general_ledger(entity=entity, account_id=account.pk, period_from=first, period_to=period, limit=limit)
    sourced = [line["line_id"] for line in gl["lines"] if line["import_batch_id"]]
    raw = dict(JournalLine.objects.filter(pk__in=sourced).values_list("pk", "source_raw")) if sourced else {}
    for line in gl["lines"]:
        line["source_raw"] = raw.get(line["line_id"], "")
    gl["closing_balance"] = gl["lines"][-1]["running_balance"] if gl["lines"] else gl["opening_balance"]
    gl["truncated"] = len(gl["lines"]) >= limit
    return gl


_COMPARE_SQL = """
SELECT coalesce(a.key, b.key), a.value::numeric, b.value::numeric
  FROM jsonb_each_text((SELECT results -> 'consolidated_tb' FROM consolidation_consolidationrun WHERE id = %(a)s)) a
  FULL JOIN jsonb_each_text((SELECT results -> 'consolidated_tb' FROM consolidation_consolidationrun
                              WHERE id = %(b)s)) b ON a.key = b.key
 WHERE coalesce(a.value::numeric, 0) <> coalesce(b.value::numeric, 0)
 ORDER BY 1
"""


def run_compare(before: ConsolidationRun, after: ConsolidationRun) -> dict[str, Any]:
    """Which input sections differ (the fingerprint's parts) and which consolidated figures moved:
    (account, before, after, delta) for every account whose amount differs, in one query."""
    errors = []
    if (before.group_id, before.period_id) != (after.group_id, after.period_id):
        errors.append(("after", "Compare two runs of the same group and period."))
    for name, run in (("before", before), ("after", after)):
        if not run.results:
            errors.append((name, f"Run {run.pk} is {run.status}: it has no results to compare."))
    if errors:
        raise ValidationFailed("These runs cannot be compared.",
                               errors=[FieldError(f, m, code="not_comparable") for f, m in errors])
    with connection.cursor() as cur:
        cur.execute(_COMPARE_SQL, {"a": before.pk, "b": after.pk})
        moved = cur.fetchall()
    names = dict(Account.objects.filter(organisation_id=before.organisation_id,
                                        code__in=[m[0] for m in moved]).values_list("code", "name"))
    sections = changed_sections(before.fingerprint_sections, after.fingerprint_sections)
    return {
        "before": before.pk, "after": after.pk, "same_inputs": before.fingerprint == after.fingerprint,
        "changed_sections": [{"section": s, "before": before.fingerprint_sections.get(s),
                              "after": after.fingerprint_sections.get(s)} for s in sections],
        "moved": [{"account": code, "name": names.get(code, ""), "before": b if b is not None else ZERO,
                   "after": a2 if a2 is not None else ZERO, "delta": (a2 or ZERO) - (b or ZERO)}
                  for code, b, a2 in moved],
        "headlines": [{"figure": k, "before": Decimal(before.results[k]), "after": Decimal(after.results[k]),
                       "delta": Decimal(after.results[k]) - Decimal(before.results[k])}
                      for k in HEADLINES if before.results.get(k) != after.results.get(k)],
    }
