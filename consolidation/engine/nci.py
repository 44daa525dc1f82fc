"""Non-controlling interests (IFRS 10.B94), at the proportionate share of net assets.

For a subsidiary S with effective interest e_S, NCI (direct and indirect through chains) holds
q = 1 - e_S of S's equity after the investment elimination:
- post-acquisition reserves: q x (S's equity balance - equity at acquisition), per equity account;
- profit: q x S's post-acquisition profit as adjusted by the entries that change it (intra-group
  dividend income eliminated, unrealised profit where S is the seller, pre-acquisition P&L);
  debited to the "profit attributable to NCI" account;
- translation: q x S's CTA, taken out of the owners' CTA;
- dividends S paid outside the group (what is left on its dividends account after the
  intra-group part is eliminated) reduce NCI.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from consolidation.engine.eliminations import role_account
from consolidation.engine.journal import Elimination
from consolidation.engine.ownership import ONE, Structure
from consolidation.engine.translation import TranslatedMember
from consolidation.engine.types import Account, AccountType, Adjustments, Role

ZERO = Decimal(0)
NON_RESERVE_ROLES = frozenset({Role.DIVIDENDS, Role.CTA, Role.NCI, Role.NCI_PROFIT})


def profit_effects(eliminations: list[Elimination], accounts: dict[str, Account]) -> dict[str, Decimal]:
    """P&L effect (debit positive) per member of the entries that change members' own profit."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for elim in eliminations:
        if elim.affects_member_profit:
            for p in elim.postings:
                if accounts[p.account].is_pl:
                    out[p.entity] += p.amount
    return out


def ic_postings_by_member(eliminations: list[Elimination]) -> dict[tuple[str, str], Decimal]:
    """(member, account) -> total of the intercompany eliminations posted there."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for elim in eliminations:
        if elim.kind == "intercompany":
            for p in elim.postings:
                out[(p.entity, p.account)] += p.amount
    return out


def nci_eliminate(sub: str, structure: Structure, tm: TranslatedMember, accounts: dict[str, Account],
                  adjustments: Adjustments, effects: dict[str, Decimal],
                  ic_postings: dict[tuple[str, str], Decimal]) -> tuple[list[Elimination], dict]:
    """NCI entries for one subsidiary. ``effects`` comes from profit_effects() and ``ic_postings``
    from ic_postings_by_member(), both over the entries made before NCI."""
    q = ONE - structure.effective[sub]
    nci = role_account(accounts, Role.NCI)
    out: list[Elimination] = []
    na_lines: dict[str, Decimal] = defaultdict(Decimal)
    for adj in adjustments.net_assets:
        if adj.entity == sub:
            for account, amount in adj.lines:
                na_lines[account] += amount * tm.rates.historical

    reserves = Elimination(kind="nci_reserves", ref=sub, description=f"NCI share of {sub}'s post-acquisition reserves")
    post_acquisition_reserves = ZERO
    for account in sorted(tm.account_totals):
        acc = accounts[account]
        if acc.type != AccountType.EQUITY or acc.role in NON_RESERVE_ROLES:
            continue
        post = tm.account_totals[account] - na_lines.get(account, ZERO)
        post_acquisition_reserves += post
        reserves.add(sub, account, -q * post)
        reserves.add(sub, nci, q * post)

    own_profit = -sum((amt for acc, amt in tm.account_totals.items() if accounts[acc].is_pl), ZERO)
    adjusted_profit = own_profit - effects.get(sub, ZERO)
    nci_profit = q * adjusted_profit
    profit = Elimination(kind="nci_profit", ref=sub, description=f"NCI share of {sub}'s profit")
    profit.add(sub, role_account(accounts, Role.NCI_PROFIT), nci_profit)
    profit.add(sub, nci, -nci_profit)

    cta = Elimination(kind="nci_cta", ref=sub, description=f"NCI share of {sub}'s translation difference")
    if tm.cta:
        cta.add(sub, role_account(accounts, Role.CTA), -q * tm.cta)
        cta.add(sub, nci, q * tm.cta)

    dividends = Elimination(kind="nci_dividends", ref=sub, description=f"Dividends {sub} paid to NCI")
    for account in sorted(tm.account_totals):
        if accounts[account].role != Role.DIVIDENDS:
            continue
        remaining = tm.account_totals[account] + ic_postings.get((sub, account), ZERO)
        dividends.add(sub, account, -remaining)
        dividends.add(sub, nci, remaining)

    for elim in (reserves, profit, cta, dividends):
        if elim.postings:
            out.append(elim.check_balanced())
    dividends_to_nci = sum((p.amount for p in dividends.postings if p.account == nci), ZERO)
    summary = {
        "nci_pct": q, "post_acquisition_reserves": -post_acquisition_reserves,
        "nci_reserves": -q * post_acquisition_reserves, "own_profit": own_profit,
        "adjusted_profit": adjusted_profit, "nci_profit": nci_profit, "nci_cta": -q * tm.cta,
        "dividends_to_nci": dividends_to_nci,
    }
    return out, summary
