"""Engine rules one at a time: ownership chains, refusals, IC tolerance, rounding, fingerprints."""
from __future__ import annotations

import dataclasses
import decimal
from datetime import date
from decimal import Decimal

import pytest

from consolidation.engine import (
    ConsolidationUnbalancedError,
    EngineInputError,
    FxRate,
    Member,
    RateType,
    TBLine,
    consolidate,
    inputs_fingerprint,
)
from consolidation.engine.fingerprint import changed_sections
from consolidation.engine.ownership import structure_build
from consolidation.engine.rounding import apportion
from consolidation.pack import pack_parse
from tests.consolidation.helpers import D, case_text, simple_inputs

USD_RATES = (FxRate("USD", "EUR", RateType.CLOSING, D("0.9"), date(2024, 12, 31)),
             FxRate("USD", "EUR", RateType.AVERAGE, D("0.85"), date(2024, 12, 31)),
             FxRate("USD", "EUR", RateType.HISTORICAL, D("0.8"), date(2023, 12, 31)))


def test_effective_interest_multiplies_along_the_chain():
    s = structure_build((Member("P", "EUR"), Member("B", "EUR", "P", D("90")), Member("C", "EUR", "B", D("60")),
                         Member("D", "EUR", "C", D("50"))))
    assert s.effective == {"P": D(1), "B": D("0.9"), "C": D("0.54"), "D": D("0.27")}
    assert s.order == ("P", "B", "C", "D")


def test_cycle_in_parent_chain_is_refused():
    with pytest.raises(EngineInputError, match="exactly one top parent"):
        structure_build((Member("A", "EUR", "B", D(50)), Member("B", "EUR", "A", D(50))))
    with pytest.raises(EngineInputError, match="cycle: B -> C -> B"):
        structure_build((Member("P", "EUR"), Member("B", "EUR", "C", D(50)), Member("C", "EUR", "B", D(50))))


@pytest.mark.parametrize("pct", ["0", "-5", "100.01"])
def test_ownership_outside_0_100_is_refused(pct):
    with pytest.raises(EngineInputError, match="outside"):
        structure_build((Member("P", "EUR"), Member("S", "EUR", "P", D(pct))))


def test_negative_goodwill_is_refused_not_booked():
    with pytest.raises(EngineInputError, match="Negative goodwill on S") as exc:
        consolidate(simple_inputs(cost="700"))  # 80% x 1,000 = 800 > 700
    assert exc.value.code == "negative_goodwill"


def test_missing_rate_is_refused_with_the_rate_named():
    with pytest.raises(EngineInputError, match="Missing average rate USD->EUR on 2024-12-31"):
        consolidate(simple_inputs(sub_ccy="USD", cost="900", rates=USD_RATES[::2]))


def test_inverse_rate_is_used_when_only_the_other_direction_is_given():
    inverse = tuple(FxRate("EUR", "USD", r.type, D(1) / r.rate, r.on) for r in USD_RATES)
    direct = consolidate(simple_inputs(sub_ccy="USD", rates=USD_RATES)).to_dict()
    inverted = consolidate(simple_inputs(sub_ccy="USD", rates=inverse)).to_dict()
    assert inverted["consolidated_tb"] == direct["consolidated_tb"]
    # member CTA 115 (equity -1,000 x 0.1 + profit -300 x 0.05) less NCI 20% = 92, plus goodwill
    # retranslation 260 x (0.9 / 0.8 - 1) = 32.5
    assert inverted["cta"] == direct["cta"] == "124.50"


def test_unbalanced_member_tb_is_refused():
    inputs = simple_inputs(sub_lines=[("1000", "1300"), ("3000", "-1000"), ("4000", "-500"), ("5000", "200.01")])
    with pytest.raises(EngineInputError, match=r"trial balance of S sums to 0\.01"):
        consolidate(inputs)


def test_float_amount_is_refused_by_the_decimal_context():
    inputs = simple_inputs()
    bad = dataclasses.replace(inputs, lines=(*inputs.lines[:-1], TBLine("S", "5000", 200.0)))
    with pytest.raises((TypeError, decimal.FloatOperation)):
        consolidate(bad)


def test_ic_difference_within_tolerance_is_not_reported_but_agreed_amount_still_eliminated():
    inputs = simple_inputs(sub_lines=[("1000", "1300"), ("2200", "-99.5", "P"), ("3000", "-1000"), ("4000", "-400.5"),
                                      ("5000", "200")])
    inputs = dataclasses.replace(inputs, lines=(*inputs.lines, TBLine("P", "1200", D(100), "S"),
                                                TBLine("P", "3000", D(-100))))
    strict = consolidate(inputs)
    assert [(d.entity, d.account, d.difference) for d in strict.ic_differences] == [("P", "1200", D("0.5"))]
    lenient = consolidate(dataclasses.replace(inputs, ic_tolerance=D("1")))
    assert lenient.ic_differences == []
    assert lenient.tb["1200"] == strict.tb["1200"] == D("0.50")


def test_rounding_apportions_residual_cents_and_reports_them():
    rounded, adjustments = apportion({"a": D("0.005"), "b": D("0.005"), "c": D("-0.01")})
    assert rounded == {"a": D("0.01"), "b": D("0.00"), "c": D("-0.01")}
    assert adjustments == {"a": D("0.01")}
    assert sum(rounded.values()) == 0


def test_fractional_ownership_rounds_once_at_the_end_and_still_balances():
    inputs = simple_inputs(pct="66.6667", cost="1000")
    result = consolidate(inputs)
    assert sum(result.tb.values()) == 0
    assert result.exact_tb["3500"] == D("99.9999")  # 33.3333% x 300, exact until the end
    assert result.to_dict()["nci_profit"] == "100.00"


def test_unbalanced_elimination_is_caught_loudly(monkeypatch):
    from consolidation.engine import core

    def broken(*args, **kwargs):
        elim = original(*args, **kwargs)
        elim.postings.pop()
        return elim

    original = core.investment_eliminate
    monkeypatch.setattr(core, "investment_eliminate", broken)
    with pytest.raises(ConsolidationUnbalancedError):
        consolidate(simple_inputs())


def test_fingerprint_ignores_order_and_number_spelling():
    inputs = simple_inputs()
    reordered = dataclasses.replace(
        inputs, lines=tuple(reversed(inputs.lines)), members=tuple(reversed(inputs.members)),
        accounts=tuple(reversed(inputs.accounts)))
    respelled = dataclasses.replace(inputs, lines=tuple(
        dataclasses.replace(line, amount=line.amount.quantize(D("0.0001"))) for line in inputs.lines))
    split = dataclasses.replace(inputs, lines=(*inputs.lines[:-1], TBLine("S", "5000", D(150)),
                                               TBLine("S", "5000", D(50))))
    a, b, c, d = (consolidate(x) for x in (inputs, reordered, respelled, split))
    assert a.fingerprint == b.fingerprint == c.fingerprint == d.fingerprint
    assert a.to_dict() == b.to_dict() == c.to_dict()


def test_fingerprint_changes_and_names_the_changed_inputs():
    base = consolidate(simple_inputs())
    changed = consolidate(simple_inputs(pct="75"))
    assert base.fingerprint != changed.fingerprint
    assert changed_sections(base.fingerprint_sections, changed.fingerprint_sections) == ["members"]
    tb_changed = consolidate(simple_inputs(sub_lines=[("1000", "1301"), ("3000", "-1000"), ("4000", "-501"),
                                                      ("5000", "200")]))
    assert changed_sections(base.fingerprint_sections, tb_changed.fingerprint_sections) == ["tb:S"]


def test_same_inputs_give_identical_results_and_fingerprint():
    text = case_text("three_level_chain")
    first, second = (consolidate(pack_parse(text).inputs).to_dict() for _ in range(2))
    assert first == second
    assert len(first["fingerprint"]) == 64


def test_member_acquired_after_period_end_is_refused():
    inputs = simple_inputs()
    late = tuple(dataclasses.replace(m, acquired_on=date(2025, 1, 1)) if m.code == "S" else m for m in inputs.members)
    with pytest.raises(EngineInputError, match="acquired after the period end"):
        consolidate(dataclasses.replace(inputs, members=late))


def test_parent_without_investment_line_leaves_all_equity_as_goodwill_check():
    """No cost recorded means negative goodwill: refused rather than silently consolidated."""
    inputs = simple_inputs()
    no_investment = tuple(line for line in inputs.lines if line.account != "1500")
    no_investment += (TBLine("P", "1000", D(900)),)
    with pytest.raises(EngineInputError, match="Negative goodwill"):
        consolidate(dataclasses.replace(inputs, lines=no_investment))


def test_foreign_subsidiary_translation_sums_to_zero_with_cta():
    result = consolidate(simple_inputs(sub_ccy="USD", rates=USD_RATES))
    tm = result.translated["S"]
    assert sum((amt for _, amt in tm.balances.values()), D(0)) + tm.cta == 0
    # equity -1,000 x (0.9 - 0.8) + profit -300 x (0.9 - 0.85) = -100 - 15
    assert tm.cta == D("-115.00")
    assert Decimal(result.to_dict()["cta_nci"]) == D("23.00")


def test_a_fingerprint_taken_apart_from_the_run_is_the_runs_own_in_any_thread():
    """consolidation.services.runs fingerprints the inputs on a second thread while the journals
    post (consolidate(..., fingerprinted=False) + inputs_fingerprint). A new thread starts from
    Python's default 28-digit context: a member's lines of 30 significant digits sum differently
    there, so the fingerprint must be taken in the engine's own context to be the same."""
    import threading

    tiny = D("0.000000000000000000000000000001")  # 1E-30: lost against 1,300 at 28 digits
    inputs = simple_inputs(sub_lines=[("1000", "1300"), ("1000", str(tiny)), ("3000", "-1000"), ("4000", "-500"),
                                      ("5000", "200"), ("5000", str(-tiny))])
    whole = consolidate(inputs)
    bare = consolidate(inputs, fingerprinted=False)
    assert (bare.fingerprint, bare.fingerprint_sections) == ("", {})
    assert {k: v for k, v in bare.to_dict().items() if not k.startswith("fingerprint")} == {
        k: v for k, v in whole.to_dict().items() if not k.startswith("fingerprint")}
    got = []
    thread = threading.Thread(target=lambda: got.append(inputs_fingerprint(inputs)))
    thread.start()
    thread.join()
    assert got == [(whole.fingerprint, whole.fingerprint_sections)]
