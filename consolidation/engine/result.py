"""The consolidation result: exact figures, the rounded TB and the trail behind every number.

``to_dict()`` gives the issue's output (consolidated_tb, nci_equity, nci_profit, goodwill, cta,
cta_nci, ic_differences, totals, profit_attributable_to_owners, effective_interest, fingerprint)
plus the explanation: components per account, eliminations, translation (CTA derivation), NCI
and goodwill per member, and any rounding cents. Amounts are strings rounded half-even to the
cent; headline figures use natural signs (NCI, CTA as credits are positive; goodwill positive).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from consolidation.engine.fingerprint import canon
from consolidation.engine.intercompany import IcDifference
from consolidation.engine.journal import Elimination
from consolidation.engine.rounding import r2
from consolidation.engine.translation import TranslatedMember
from consolidation.engine.types import Account, AccountType, RateType, Role

ZERO = Decimal(0)


@dataclass(slots=True)
class Component:
    account: str
    entity: str
    source: str  # trial_balance | translation_difference | an elimination kind
    ref: str
    amount: Decimal  # exact, group currency
    local_amount: Decimal | None = None
    rate: Decimal | None = None


def _s(value: Decimal) -> str:
    return str(r2(value))


def num(value: Decimal) -> str:
    """An exact number as written the same way whatever its input spelling: at least two places,
    no trailing zeros beyond ("1300" and "1300.0000" both give "1300.00"; 0.95 stays "0.95")."""
    n = value.normalize()
    if n.as_tuple().exponent >= -2:
        n = n.quantize(Decimal("0.01"))
    return format(n.copy_abs() if n == 0 else n, "f")


def _posting(p) -> dict[str, str]:
    rounded = r2(p.amount)  # once: rounding is most of the cost of serialising a posting
    d = {"entity": p.entity, "account": p.account, "amount": str(rounded)}
    if rounded != p.amount:
        d["exact"] = canon(p.amount)
    return d


def pct(value: Decimal) -> str:
    """A fraction as a percentage string, at least two places, exact otherwise."""
    return num(value * 100)


@dataclass
class ConsolidationResult:
    group_currency: str
    period_end: str
    accounts: dict[str, Account]
    exact_tb: dict[str, Decimal]
    tb: dict[str, Decimal]  # rounded, sums to zero
    rounding_adjustments: dict[str, Decimal]
    kinds: dict[str, RateType]  # account -> the rate it is translated at
    cta_account: str | None
    eliminations: list[Elimination]
    translated: dict[str, TranslatedMember]
    ic_differences: list[IcDifference]
    effective_interest: dict[str, Decimal]
    nci_by_member: dict[str, dict[str, Any]]
    goodwill_by_member: dict[str, dict[str, Any]]
    fingerprint: str
    fingerprint_sections: dict[str, str]
    members_order: tuple[str, ...] = field(default_factory=tuple)
    manual_adjustments: tuple = ()

    # --- headline figures -------------------------------------------------------------
    def _role_total(self, role: Role, exact: bool = False) -> Decimal:
        src = self.exact_tb if exact else self.tb
        return sum((v for k, v in src.items() if self.accounts[k].role == role), ZERO)

    @property
    def goodwill(self) -> Decimal:
        return self._role_total(Role.GOODWILL)

    @property
    def nci_equity(self) -> Decimal:
        return -self._role_total(Role.NCI)

    @property
    def nci_profit(self) -> Decimal:
        return self._role_total(Role.NCI_PROFIT)

    @property
    def cta(self) -> Decimal:
        return -self._role_total(Role.CTA)

    @property
    def cta_nci(self) -> Decimal:
        return r2(sum((e["nci_cta"] for e in self.nci_by_member.values()), ZERO))

    def totals(self) -> dict[str, Decimal]:
        t = {"assets": ZERO, "liabilities": ZERO, "equity": ZERO, "net_income": ZERO}
        for code, amount in self.tb.items():
            acc = self.accounts[code]
            if acc.role == Role.NCI_PROFIT or acc.type == AccountType.EQUITY:
                t["equity"] -= amount
            elif acc.type == AccountType.ASSET:
                t["assets"] += amount
            elif acc.type == AccountType.LIABILITY:
                t["liabilities"] -= amount
            else:
                t["net_income"] -= amount
        return t

    @property
    def profit_attributable_to_owners(self) -> Decimal:
        return self.totals()["net_income"] - self.nci_profit

    # --- explanation ------------------------------------------------------------------
    @cached_property
    def components(self) -> dict[str, list[Component]]:
        """account -> its parts: each member's translated balance, translation differences and
        every elimination posting (built on demand: a run stores the compact form instead)."""
        comps: dict[str, list[Component]] = defaultdict(list)
        for code in self.members_order:
            tm = self.translated[code]
            for account in sorted(tm.account_totals):
                comps[account].append(Component(account, code, "trial_balance", code, tm.account_totals[account],
                                                tm.account_local[account], tm.rate_for(self.kinds[account])))
            if tm.cta:
                comps[self.cta_account].append(Component(self.cta_account, code, "translation_difference", code,
                                                         tm.cta))
        for elim in self.eliminations:
            for p in elim.postings:
                comps[p.account].append(Component(p.account, p.entity, elim.kind, elim.ref, p.amount))
        for manual in self.manual_adjustments:
            for account, amount in manual.lines:
                comps[account].append(Component(account, "", "manual_adjustment", manual.entry, amount))
        return dict(comps)

    def member_columns(self) -> dict[str, dict[str, Decimal]]:
        """account -> column -> exact amount; columns are member codes then elimination kinds."""
        out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for account, comps in self.components.items():
            for c in comps:
                column = c.entity if c.source in ("trial_balance", "translation_difference") else c.source
                out[account][column] += c.amount
        return out

    def explain(self, account: str) -> dict[str, Any]:
        comps = self.components.get(account, [])
        return {
            "account": account,
            "amount": _s(self.tb.get(account, ZERO)),
            "exact": num(self.exact_tb.get(account, ZERO)),
            "rounding_adjustment": _s(self.rounding_adjustments.get(account, ZERO)),
            "components": [self._component_dict(c) for c in comps],
        }

    @staticmethod
    def _component_dict(c: Component) -> dict[str, Any]:
        rounded = r2(c.amount)
        d: dict[str, Any] = {"entity": c.entity, "source": c.source, "ref": c.ref, "amount": str(rounded)}
        if rounded != c.amount:
            d["exact"] = num(c.amount)
        if c.local_amount is not None:
            d["local_amount"] = num(c.local_amount)
            d["rate"] = num(c.rate)
        return d

    def member_balances(self) -> dict[str, dict[str, list[str]]]:
        """Compact member contributions: entity -> account -> [local amount, translated amount
        (exact), rate kind c/a/h]; the rates are under "translation"."""
        letter = {RateType.CLOSING: "c", RateType.AVERAGE: "a", RateType.HISTORICAL: "h"}
        return {code: {acc: [canon(tm.account_local[acc]), canon(amt), letter[self.kinds[acc]]]
                       for acc, amt in sorted(tm.account_totals.items())}
                for code, tm in ((c, self.translated[c]) for c in sorted(self.translated))}

    def to_dict(self, *, include_components: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group_currency": self.group_currency,
            "period_end": self.period_end,
            "consolidated_tb": {k: _s(v) for k, v in sorted(self.tb.items()) if v != 0},
            "nci_equity": _s(self.nci_equity),
            "nci_profit": _s(self.nci_profit),
            "goodwill": _s(self.goodwill),
            "cta": _s(self.cta),
            "cta_nci": _s(self.cta_nci),
            "ic_differences": [
                {"entity": d.entity, "account": d.account, "counterparty": d.counterparty,
                 "counterparty_account": d.counterparty_account, "entity_amount": _s(d.entity_amount),
                 "counterparty_amount": _s(d.counterparty_amount), "difference": _s(d.difference),
                 "eliminated": _s(d.eliminated)}
                for d in self.ic_differences],
            "totals": {k: _s(v) for k, v in self.totals().items()},
            "profit_attributable_to_owners": _s(self.profit_attributable_to_owners),
            "effective_interest": {k: pct(v) for k, v in sorted(self.effective_interest.items())},
            "fingerprint": self.fingerprint,
            "fingerprint_sections": dict(sorted(self.fingerprint_sections.items())),
            "rounding_adjustments": {k: _s(v) for k, v in sorted(self.rounding_adjustments.items())},
            "translation": {code: self._translation_dict(tm) for code, tm in sorted(self.translated.items())},
            "goodwill_by_member": {k: {n: _s(v) if isinstance(v, Decimal) else v for n, v in d.items()}
                                   for k, d in sorted(self.goodwill_by_member.items())},
            "nci_by_member": {k: {n: _s(v) if isinstance(v, Decimal) else v for n, v in d.items()}
                              for k, d in sorted(self.nci_by_member.items())},
            "members_order": list(self.members_order),  # parents first (jsonb does not keep key order)
            "cta_account": self.cta_account,
            "member_balances": self.member_balances(),
            "eliminations": [
                {"kind": e.kind, "ref": e.ref, "description": e.description,
                 "postings": [_posting(p) for p in e.postings]}
                for e in self.eliminations],
        }
        if self.manual_adjustments:  # only when there are any (the worked cases' outputs stay as they are)
            out["manual_adjustments"] = [
                {"entry": m.entry, "description": m.description, "lines": [[a, _s(v)] for a, v in m.lines]}
                for m in self.manual_adjustments]
        if include_components:
            out["components"] = {acc: [self._component_dict(c) for c in comps]
                                 for acc, comps in sorted(self.components.items())}
        return out

    @staticmethod
    def _translation_dict(tm: TranslatedMember) -> dict[str, Any]:
        return {
            "currency": tm.currency,
            "closing_rate": num(tm.rates.closing), "average_rate": num(tm.rates.average),
            "historical_rate": num(tm.rates.historical),
            "equity_at_historical_local": _s(tm.equity_local),
            "profit_and_dividends_local": _s(tm.profit_local),
            "cta_from_equity": _s(tm.cta_equity_part),
            "cta_from_profit": _s(tm.cta_profit_part),
            "cta": _s(tm.cta),
            "cta_exact": canon(tm.cta),
        }
