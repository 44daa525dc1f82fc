"""Properties over random groups: any balanced member TBs, ownership chains and rates give a
consolidated TB that sums to zero, and the fingerprint and results ignore input order."""
from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consolidation.engine import EngineInputs, FxRate, Member, RateType, TBLine, consolidate
from consolidation.engine.types import Adjustments, NetAssetsAtAcquisition, UnrealisedProfit
from tests.consolidation.helpers import CHART

PERIOD_END = date(2024, 12, 31)
ACQUIRED = date(2023, 12, 31)
CURRENCIES = ("EUR", "USD", "GBP")
cents = st.integers(min_value=-10_000_00, max_value=10_000_00).map(lambda c: Decimal(c) / 100)
rates = st.integers(min_value=5_000, max_value=200_000).map(lambda r: Decimal(r) / 100_000)
pcts = st.integers(min_value=5_100, max_value=10_000).map(lambda p: Decimal(p) / 100)


@st.composite
def groups(draw) -> EngineInputs:
    n = draw(st.integers(min_value=2, max_value=5))
    codes = [f"E{i}" for i in range(n)]
    members = [Member("E0", "EUR")]
    for i in range(1, n):
        members.append(Member(codes[i], draw(st.sampled_from(CURRENCIES)), codes[draw(st.integers(0, i - 1))],
                              draw(pcts), ACQUIRED))
    fx = []
    for ccy in CURRENCIES[1:]:
        for kind, on in ((RateType.CLOSING, PERIOD_END), (RateType.AVERAGE, PERIOD_END),
                         (RateType.HISTORICAL, ACQUIRED)):
            fx.append(FxRate(ccy, "EUR", kind, draw(rates), on))
    lines, net_assets = [], []
    for m in members:
        share_capital = Decimal(draw(st.integers(1, 1000)))
        amounts = {a: draw(cents) for a in ("1000", "4000", "5000")}
        amounts["3000"] = -share_capital
        ic = []
        for other in codes:
            if other != m.code and draw(st.booleans()):
                ic.append(TBLine(m.code, draw(st.sampled_from(["1200", "2200"])), draw(cents), other))
        # the cash line balances the TB
        body = [TBLine(m.code, a, v) for a, v in amounts.items() if a != "1000"] + ic
        cash = -sum((line.amount for line in body), Decimal(0))
        lines += [*body, TBLine(m.code, "1000", cash)]
        if m.parent:
            net_assets.append(NetAssetsAtAcquisition(m.code, (("3000", -share_capital),)))
    # each parent pays generously for its subsidiaries, so goodwill is never negative
    for m in members[1:]:
        cost = Decimal(draw(st.integers(100_000, 200_000)))
        lines += [TBLine(m.parent, "1500", cost, m.code), TBLine(m.parent, "1000", -cost)]
    urp = ()
    if draw(st.booleans()):
        seller, buyer = draw(st.permutations(codes))[:2]
        urp = (UnrealisedProfit(seller, buyer, draw(cents).copy_abs(), "1000", "5000"),)
    return EngineInputs(group_currency="EUR", period_end=PERIOD_END, members=tuple(members), accounts=CHART,
                        lines=tuple(lines), rates=tuple(fx),
                        adjustments=Adjustments(net_assets=tuple(net_assets), unrealised_profit=urp))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups())
def test_consolidated_tb_always_sums_to_zero(inputs):
    result = consolidate(inputs)
    assert sum(result.tb.values()) == 0
    assert abs(sum(result.exact_tb.values())) < Decimal("1e-20")
    totals = result.totals()
    assert totals["assets"] == totals["liabilities"] + totals["equity"] + totals["net_income"]
    # every rounding adjustment is a single cent and only where amounts carry fractions of a cent
    assert all(abs(v) == Decimal("0.01") for v in result.rounding_adjustments.values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups(), st.randoms(use_true_random=False))
def test_fingerprint_and_results_ignore_input_order(inputs, rnd):
    shuffled = {name: list(getattr(inputs, name)) for name in ("members", "accounts", "lines", "rates")}
    for values in shuffled.values():
        rnd.shuffle(values)
    other = dataclasses.replace(inputs, **{k: tuple(v) for k, v in shuffled.items()})
    a, b = consolidate(inputs), consolidate(other)
    assert a.fingerprint == b.fingerprint
    assert a.to_dict() == b.to_dict()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups())
def test_nci_equals_each_members_share_of_its_net_assets(inputs):
    """NCI closing = sum over subsidiaries S of (1 - e_S) x (S's translated net assets - unrealised
    profit S made) - (1 - e_parent) x the parent's investment in S (indirect NCI's share of the cost)."""
    result = consolidate(inputs)
    parent_of = {m.code: m.parent for m in inputs.members}
    expected = Decimal(0)
    for code, tm in result.translated.items():
        parent = parent_of[code]
        if parent is None:
            continue
        q = 1 - result.effective_interest[code]
        net_assets = sum((amt for (acc, _), (_, amt) in tm.balances.items()
                          if result.accounts[acc].type in ("asset", "liability")), Decimal(0))
        urp = sum((u.amount for u in inputs.adjustments.unrealised_profit if u.seller == code), Decimal(0))
        cost = sum((amt for (acc, cp), (_, amt) in result.translated[parent].balances.items()
                    if acc == "1500" and cp == code), Decimal(0))
        expected += q * (net_assets - urp) - (1 - result.effective_interest[parent]) * cost
    assert abs(-result.exact_tb.get("3400", Decimal(0)) - expected) < Decimal("1e-15")
