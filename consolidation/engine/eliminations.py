"""Investment elimination (IFRS 3 / IFRS 10.B86) and unrealised profit.

For each subsidiary S held by parent P (effective interests e_S and e_P, e_P = 1 for a direct
subsidiary), in the group currency:

    net assets acquired   NA  = -(equity at acquisition x historical + pre-acquisition P&L x average)
    cost at acquisition   K   = P's investment in S (P's currency) x P's historical rate on S's acquisition date
    goodwill              GW  = e_P x K - e_S x NA           (NCI at its proportionate share)
    NCI at acquisition         = (1 - e_S) x NA, less P's own NCI share of the investment: (1 - e_P) x K_t

Pre-acquisition P&L is translated at the average rate, like the year's P&L it is taken out of, so
only post-acquisition income and expense remain (an approximation for a foreign subsidiary bought
mid-year: exact would be the average rate of each part of the year).

Goodwill is an asset of S (IAS 21.47): it is carried at GW / historical x closing, and that
retranslation, with the group's share of any retranslation of a foreign parent's investment
(e_P x (K_t - K), K_t = investment in P's translated TB), goes to the owners' CTA.
"""
from __future__ import annotations

from decimal import Decimal

from consolidation.engine.errors import EngineInputError
from consolidation.engine.journal import Elimination
from consolidation.engine.ownership import ONE, Structure
from consolidation.engine.translation import RateBook, TranslatedMember
from consolidation.engine.types import Account, Adjustments, RateType, Role

ZERO = Decimal(0)
_ROLE_CACHE: dict[int, tuple[dict, dict]] = {}


def role_account(accounts: dict[str, Account], role: Role) -> str:
    """The group chart's account for a role (the pack allows one per role; the lowest code otherwise)."""
    cache = _ROLE_CACHE.get(id(accounts))
    if cache is None or cache[0] is not accounts:
        cache = (accounts, {})
        _ROLE_CACHE.clear()
        _ROLE_CACHE[id(accounts)] = cache
    if role in cache[1]:
        return cache[1][role]
    codes = sorted(a.code for a in accounts.values() if a.role == role)
    if not codes:
        raise EngineInputError(f"The group chart has no account with role {role}.", code="role_account_missing")
    cache[1][role] = codes[0]
    return codes[0]


def investment_eliminate(sub: str, structure: Structure, translated: dict[str, TranslatedMember],
                         accounts: dict[str, Account], adjustments: Adjustments, book: RateBook) -> Elimination:
    member = structure.members[sub]
    parent = member.parent
    assert parent is not None
    tm, tp = translated[sub], translated[parent]
    e_s, e_p = structure.effective[sub], structure.parent_effective(sub)
    na_adj = [a for a in adjustments.net_assets if a.entity == sub]
    if len(na_adj) != 1:
        raise EngineInputError(f"Subsidiary {sub} needs exactly one net_assets_at_acquisition adjustment.",
                               code="net_assets_missing")
    pre_lines = [line for a in adjustments.pre_acquisition_pl if a.entity == sub for line in a.lines]

    elim = Elimination(kind="investment", ref=sub, affects_member_profit=bool(pre_lines),
                       description=f"Investment in {sub} against its equity at acquisition")
    na_group = ZERO
    for account, amount in na_adj[0].lines:
        translated_amount = amount * tm.rates.historical
        elim.add(sub, account, -translated_amount)
        na_group -= translated_amount
    for account, amount in pre_lines:
        translated_amount = amount * tm.rates.average
        elim.add(sub, account, -translated_amount)
        na_group -= translated_amount

    cost_local, cost_translated = ZERO, ZERO
    investment_lines = sorted((key, value) for key, value in tp.balances.items()
                              if key[1] == sub and accounts[key[0]].role == Role.INVESTMENT)
    for (account, _), (local, amount) in investment_lines:
        cost_local += local
        cost_translated += amount
        elim.add(parent, account, -amount)
    cost_at_acquisition = cost_local * book.get(tp.currency, RateType.HISTORICAL, member.acquired_on)

    goodwill = e_p * cost_at_acquisition - e_s * na_group
    if goodwill < 0:
        raise EngineInputError(
            f"Negative goodwill on {sub} ({goodwill}): a bargain purchase must be reassessed and recognised "
            "in profit (IFRS 3.34-36) before consolidating.", code="negative_goodwill")
    goodwill_closing = goodwill * tm.rates.closing / tm.rates.historical
    nci_at_acquisition = (ONE - e_s) * na_group
    nci_share_of_cost = (ONE - e_p) * cost_translated
    goodwill_fx = goodwill_closing - goodwill
    investment_fx = e_p * (cost_translated - cost_at_acquisition)

    if goodwill_closing:
        elim.add(sub, role_account(accounts, Role.GOODWILL), goodwill_closing)
    if nci_at_acquisition or nci_share_of_cost:
        nci = role_account(accounts, Role.NCI)
        elim.add(sub, nci, -nci_at_acquisition)
        elim.add(sub, nci, nci_share_of_cost)
    if investment_fx - goodwill_fx:
        elim.add(sub, role_account(accounts, Role.CTA), investment_fx - goodwill_fx)
    elim.details = {
        "parent": parent, "effective_interest": e_s, "parent_effective_interest": e_p,
        "net_assets_at_acquisition": na_group, "cost_at_acquisition": cost_at_acquisition,
        "cost_translated": cost_translated, "goodwill_at_acquisition": goodwill,
        "goodwill_closing": goodwill_closing, "goodwill_fx": goodwill_fx, "investment_fx": investment_fx,
        "nci_at_acquisition": nci_at_acquisition, "nci_share_of_cost": nci_share_of_cost,
    }
    return elim.check_balanced()


def unrealised_profit_eliminate(adjustments: Adjustments) -> list[Elimination]:
    out = []
    for i, urp in enumerate(adjustments.unrealised_profit):
        elim = Elimination(kind="unrealised_profit", ref=f"{urp.seller}>{urp.buyer}#{i + 1}",
                           affects_member_profit=True,
                           description=f"Unrealised profit on {urp.buyer}'s inventory bought from {urp.seller}")
        elim.add(urp.seller, urp.cogs_account, urp.amount)
        elim.add(urp.buyer, urp.inventory_account, -urp.amount)
        elim.details = {"seller": urp.seller, "buyer": urp.buyer, "amount": urp.amount}
        out.append(elim.check_balanced())
    return out
