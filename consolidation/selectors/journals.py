"""The consolidation journals of a run, from its stored results, to the cent.

The consolidated trial balance is explained by ledgers and journals only:

    consolidated TB = sum over members of (member's ledger x closing rate)
                      + translation journals + elimination journals + manual adjustments + rounding

- *Members at closing*: each member's balances (BS cumulative, P&L year to date) translated at its
  closing rate, rounded to the cent per account with largest-remainder rounding so that each
  member's translated ledger still balances (local x one rate sums to zero).
- *Translation* (one journal per foreign member, IAS 21.39): re-measures equity at the historical
  rate and income, expense and dividends at the average rate, ``local x (rate - closing)`` per
  account, with the difference to the CTA account - which is exactly the member's derived CTA,
  so the journal balances.
- *Eliminations*: the engine's eliminations, each rounded to balance.
- *Manual adjustments* already stand in the consolidation ledger (posted by a controller); the
  run reads them, it never posts them again.
- *Rounding*: the cents by which the separately rounded parts miss the consolidated TB (which is
  rounded once, from the exact figures). Every part balances, so the rounding journal does too.

The run posts translation, eliminations and rounding in the group's consolidation (elimination)
ledger (consolidation/services/posting.py); the board pack's members sheet shows the same columns.
Plain Decimal: the same results always give the same journals.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from itertools import chain
from typing import Any

from consolidation.engine.rounding import apportion, r2

ZERO = Decimal(0)
RATE_KEYS = {"c": "closing_rate", "a": "average_rate", "h": "historical_rate"}
MANUAL = "manual_adjustment"


@dataclass
class Journal:
    """One consolidation journal: lines are (member, account, amount in the group currency, debit +)."""

    kind: str  # translation | an elimination kind | manual_adjustment | rounding
    ref: str
    description: str
    lines: list[tuple[str, str, Decimal]] = field(default_factory=list)

    def by_account(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(Decimal)
        for _member, account, amount in self.lines:
            out[account] += amount
        return out


def _rounded(keyed: dict[str, tuple[str, str, Decimal]]) -> list[tuple[str, str, Decimal]]:
    """Round exact lines so that they still sum to zero; lines that round to nothing are dropped."""
    rounded, _ = apportion({k: v[2] for k, v in keyed.items()})
    return [(member, account, rounded[k]) for k, (member, account, _) in keyed.items() if rounded[k] != 0]


def members_at_closing(results: dict[str, Any]) -> dict[str, dict[str, Decimal]]:
    """member -> account -> its ledger balance at the member's closing rate, rounded to balance."""
    out = {}
    with localcontext() as ctx:
        ctx.prec = 60
        for member in results["members_order"]:
            closing = Decimal(results["translation"][member]["closing_rate"])
            exact = {account: Decimal(local) * closing
                     for account, (local, _amount, _kind) in results["member_balances"][member].items()}
            rounded, _ = apportion(exact)
            out[member] = {a: v for a, v in rounded.items() if v != 0}
    return out


def translation_journals(results: dict[str, Any]) -> Iterator[Journal]:
    """One journal per member whose translation differs from its closing rate, in member order."""
    cta_account = results.get("cta_account")
    with localcontext() as ctx:
        ctx.prec = 60
        for member in results["members_order"]:
            t = results["translation"][member]
            closing = Decimal(t["closing_rate"])
            # Each rate kind's difference to the closing rate, once per member; where it is zero (every
            # account at the closing rate, and every account of a member in the group currency) the
            # line would be zero and is skipped without parsing its amount.
            deltas = {kind: Decimal(t[key]) - closing for kind, key in RATE_KEYS.items()}
            keyed: dict[str, tuple[str, str, Decimal]] = {}
            if any(deltas.values()):
                for account, (local, _amount, kind) in sorted(results["member_balances"][member].items()):
                    delta = deltas[kind]
                    if delta:
                        diff = Decimal(local) * delta
                        if diff:
                            keyed[account] = (member, account, diff)
            cta = Decimal(t.get("cta_exact") or "0")
            if cta:
                # The CTA line is the member's CTA rounded once, as the worksheet and the CTA schedule
                # show it: with no remainder it takes a residual cent only after every other line has.
                keyed[f"~{cta_account}"] = (member, cta_account, r2(cta))
            lines = _rounded(keyed)
            if lines:
                yield Journal(
                    "translation", member,
                    f"Translation of {member} ({t['currency']}): equity at the historical rate, income and expense "
                    "at the average rate, the difference to the CTA", lines)


def elimination_journals(results: dict[str, Any]) -> Iterator[Journal]:
    for elim in results["eliminations"]:
        keyed = {f"{i:06d}": (p["entity"], p["account"], Decimal(p.get("exact", p["amount"])))
                 for i, p in enumerate(elim["postings"])}
        lines = _rounded(keyed)
        if lines:
            yield Journal(elim["kind"], elim["ref"], elim["description"], lines)


def manual_journals(results: dict[str, Any]) -> list[Journal]:
    """The manual adjustments standing in the consolidation ledger when the run read its inputs."""
    return [Journal(MANUAL, str(adj["entry"]), adj["description"],
                    [("", account, Decimal(amount)) for account, amount in adj["lines"]])
            for adj in results.get("manual_adjustments", [])]


def rounding_journal(results: dict[str, Any], total: dict[str, Decimal]) -> Journal | None:
    """The cents by which ``total`` (every part, per account) misses the consolidated TB."""
    tb = {a: Decimal(v) for a, v in results["consolidated_tb"].items()}
    lines = [("", a, tb.get(a, ZERO) - total.get(a, ZERO)) for a in sorted(set(tb) | set(total))]
    lines = [ln for ln in lines if ln[2] != 0]
    if not lines:
        return None
    return Journal("rounding", "cents",
                   "Rounding: the consolidated TB is rounded once from exact figures, its parts one by one", lines)


@dataclass
class RunJournals:
    members: dict[str, dict[str, Decimal]]  # members at closing
    journals: list[Journal]  # translation, eliminations, manual adjustments, rounding (in that order)

    def to_post(self) -> list[Journal]:
        """What a run posts: everything but the manual adjustments (already in the ledger)."""
        return [j for j in self.journals if j.kind != MANUAL]

    def columns(self) -> list[str]:
        kinds: list[str] = []
        for j in self.journals:
            if j.kind not in kinds:
                kinds.append(j.kind)
        return kinds


def journals_in_order(results: dict[str, Any], members: dict[str, dict[str, Decimal]]) -> Iterator[Journal]:
    """The run's journals one by one - translation, eliminations, manual adjustments, rounding - so a
    caller can post the first while the rest are worked out (consolidation/services/posting.py).
    Fills ``members`` (members at closing) before the rounding journal, which needs them."""
    total: dict[str, Decimal] = defaultdict(Decimal)
    for journal in chain(translation_journals(results), elimination_journals(results), manual_journals(results)):
        yield _counted(journal, total)
    members.update(members_at_closing(results))
    for part in members.values():
        for account, amount in part.items():
            total[account] += amount
    rounding = rounding_journal(results, total)
    if rounding is not None:
        yield rounding


def _counted(journal: Journal, total: dict[str, Decimal]) -> Journal:
    for _member, account, amount in journal.lines:
        total[account] += amount
    return journal


def run_journals(results: dict[str, Any]) -> RunJournals:
    members: dict[str, dict[str, Decimal]] = {}
    journals = list(journals_in_order(results, members))
    return RunJournals(members, journals)
