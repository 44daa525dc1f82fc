"""Current-rate translation (IAS 21.39) of each member's trial balance into the group currency.

Assets and liabilities at the closing rate; income, expense and dividends declared at the
average rate (they are movements of the year); other equity at the member's historical rate (the
rate on its acquisition date). The cumulative translation adjustment is then *derived*, not
plugged:

    CTA = sum(equity at historical) x (closing - historical) + sum(P&L and dividends) x (closing - average)

(debit positive: a credit is a translation gain). translate_member() checks that the translated
TB plus this CTA sums to zero, which holds exactly because the functional-currency TB does.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from consolidation.engine.errors import ConsolidationUnbalancedError, EngineInputError
from consolidation.engine.types import AccountType, FxRate, Member, RateType, Role, TBLine

ONE = Decimal(1)
EXACT_TOLERANCE = Decimal("1e-20")  # only inverted rates are inexact (60 significant digits)


class RateBook:
    """Rates by (from, to, type, date). A pair given only the other way round is inverted."""

    def __init__(self, rates: tuple[FxRate, ...], group_currency: str):
        self.group_currency = group_currency
        self._rates: dict[tuple[str, str, RateType, date], Decimal] = {}
        for r in rates:
            self._rates[(r.from_ccy, r.to_ccy, r.type, r.on)] = r.rate

    def find(self, ccy: str, rate_type: RateType, on: date | None, to: str | None = None) -> Decimal | None:
        to = to or self.group_currency
        if ccy == to:
            return ONE
        if on is None:  # earliest historical rate of the pair (formation of a top parent)
            dates = sorted(d for (f, t, k, d) in self._rates if k == rate_type and {f, t} == {ccy, to})
            if not dates:
                return None
            on = dates[0]
        direct = self._rates.get((ccy, to, rate_type, on))
        if direct is not None:
            return direct
        inverse = self._rates.get((to, ccy, rate_type, on))
        return ONE / inverse if inverse else None

    def get(self, ccy: str, rate_type: RateType, on: date | None, to: str | None = None) -> Decimal:
        rate = self.find(ccy, rate_type, on, to)
        if rate is None:
            when = on.isoformat() if on else "any date"
            raise EngineInputError(
                f"Missing {rate_type} rate {ccy}->{to or self.group_currency} on {when}.",
                code="rate_missing")
        return rate


@dataclass
class MemberRates:
    closing: Decimal
    average: Decimal
    historical: Decimal


def member_rates(member: Member, book: RateBook, period_end: date) -> MemberRates:
    ccy = member.functional_currency
    return MemberRates(
        closing=book.get(ccy, RateType.CLOSING, period_end),
        average=book.get(ccy, RateType.AVERAGE, period_end),
        historical=book.get(ccy, RateType.HISTORICAL, member.acquired_on),
    )


def rate_kind(account_type: AccountType, role: Role | None) -> RateType:
    if account_type in (AccountType.ASSET, AccountType.LIABILITY):
        return RateType.CLOSING
    if account_type in (AccountType.REVENUE, AccountType.EXPENSE) or role == Role.DIVIDENDS:
        return RateType.AVERAGE
    return RateType.HISTORICAL


@dataclass
class TranslatedMember:
    code: str
    currency: str
    rates: MemberRates
    # (account, counterparty) -> (local amount, group-currency amount)
    balances: dict[tuple[str, str | None], tuple[Decimal, Decimal]] = field(default_factory=dict)
    cta: Decimal = Decimal(0)
    cta_equity_part: Decimal = Decimal(0)  # opening equity x (closing - historical)
    cta_profit_part: Decimal = Decimal(0)  # profit and dividends x (closing - average)
    equity_local: Decimal = Decimal(0)  # equity other than dividends, at historical
    profit_local: Decimal = Decimal(0)  # P&L and dividends, debit positive
    account_totals: dict[str, Decimal] = field(default_factory=dict)  # account -> group-currency total
    account_local: dict[str, Decimal] = field(default_factory=dict)  # account -> functional-currency total

    def rate_for(self, kind: RateType) -> Decimal:
        if kind is RateType.CLOSING:
            return self.rates.closing
        return self.rates.average if kind is RateType.AVERAGE else self.rates.historical

    def account_total(self, account: str) -> Decimal:
        return self.account_totals.get(account, Decimal(0))


def translate_member(member: Member, lines: list[TBLine], kinds: dict[str, RateType],
                     book: RateBook, period_end: date) -> TranslatedMember:
    rates = member_rates(member, book, period_end)
    out = TranslatedMember(code=member.code, currency=member.functional_currency, rates=rates)
    # Keyed (account, counterparty or ""), so the keys sort as they are (no key function per line);
    # balances keep None for "no counterparty".
    local: dict[tuple[str, str], Decimal] = {}
    get = local.get
    zero = Decimal(0)
    for line in lines:
        key = (line.account, line.counterparty or "")
        local[key] = get(key, zero) + line.amount
    by_kind: dict[RateType, Decimal] = defaultdict(Decimal)
    translated_sum = zero
    rate_of = {k: out.rate_for(k) for k in RateType}
    totals, local_totals, balances = out.account_totals, out.account_local, out.balances
    for key, value in sorted(local.items()):
        account = key[0]
        kind = kinds[account]
        amount = value * rate_of[kind]
        balances[(account, key[1] or None)] = (value, amount)
        totals[account] = totals.get(account, zero) + amount
        local_totals[account] = local_totals.get(account, zero) + value
        by_kind[kind] += value
        translated_sum += amount
    out.equity_local = by_kind[RateType.HISTORICAL]
    out.profit_local = by_kind[RateType.AVERAGE]
    out.cta_equity_part = out.equity_local * (rates.closing - rates.historical)
    out.cta_profit_part = out.profit_local * (rates.closing - rates.average)
    out.cta = out.cta_equity_part + out.cta_profit_part
    local_sum = sum(local.values(), Decimal(0))
    if local_sum != 0:
        raise EngineInputError(f"The trial balance of {member.code} sums to {local_sum}, not zero.",
                               code="trial_balance_unbalanced")
    if abs(translated_sum + out.cta) > EXACT_TOLERANCE:
        raise ConsolidationUnbalancedError(
            f"Translation of {member.code}: translated TB {translated_sum} plus CTA {out.cta} is not zero.")
    return out
