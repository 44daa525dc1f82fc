"""Intercompany matching: every balance with a counterparty against the counterparty's mirror.

The mirror of (entity E, account A, counterparty C) is (C, A.ic_pair, E). Only the agreed
amount - the smaller absolute value of two opposite-signed balances - is eliminated, so a
mismatch stays visible in the consolidated TB and is reported per pair; nothing is plugged.
Investment balances are not matched here (the investment elimination removes them).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from consolidation.engine.journal import Elimination
from consolidation.engine.rounding import r2
from consolidation.engine.translation import TranslatedMember
from consolidation.engine.types import Account, Role

ZERO = Decimal(0)


@dataclass(frozen=True)
class IcDifference:
    entity: str
    account: str
    counterparty: str
    counterparty_account: str
    entity_amount: Decimal
    counterparty_amount: Decimal
    difference: Decimal
    eliminated: Decimal


def _sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


def ic_balances(translated: dict[str, TranslatedMember], accounts: dict[str, Account]) -> dict[tuple, Decimal]:
    out: dict[tuple[str, str, str], Decimal] = {}
    for code, tm in translated.items():
        for (account, counterparty), (_, amount) in tm.balances.items():
            acc = accounts[account]
            if counterparty is None or not acc.ic or acc.role == Role.INVESTMENT or counterparty not in translated:
                continue
            key = (code, account, counterparty)
            out[key] = out.get(key, ZERO) + amount
    return out


def ic_match(translated: dict[str, TranslatedMember], accounts: dict[str, Account],
             tolerance: Decimal) -> tuple[list[Elimination], list[IcDifference]]:
    balances = ic_balances(translated, accounts)
    eliminations: list[Elimination] = []
    differences: list[IcDifference] = []
    done: set[tuple[str, str, str]] = set()
    for key in sorted(balances):
        if key in done:
            continue
        entity, account, counterparty = key
        pair_account = accounts[account].ic_pair or account
        mirror = (counterparty, pair_account, entity)
        done.update((key, mirror))
        own, other = balances[key], balances.get(mirror, ZERO)
        agreed = min(abs(own), abs(other)) if _sign(own) * _sign(other) < 0 else ZERO
        difference = own + other
        if agreed:
            elim = Elimination(
                kind="intercompany", ref=f"{entity}:{account}/{counterparty}:{pair_account}",
                description=f"Intercompany {entity} {account} against {counterparty} {pair_account}")
            elim.add(entity, account, -_sign(own) * agreed)
            elim.add(counterparty, pair_account, -_sign(other) * agreed)
            pl_lines = sum(1 for p in elim.postings if accounts[p.account].is_pl)
            elim.affects_member_profit = pl_lines == 1
            elim.details = {"agreed": agreed, "entity_amount": own, "counterparty_amount": other}
            eliminations.append(elim.check_balanced())
        if abs(difference) > tolerance and r2(difference) != 0:
            differences.append(IcDifference(entity, account, counterparty, pair_account, own, other,
                                            difference, agreed))
    return eliminations, differences
