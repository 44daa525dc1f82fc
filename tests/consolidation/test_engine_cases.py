"""The hand-worked cases (tests/consolidation/cases/*.md): the engine must give exactly the figures
worked out by hand, and every consolidated amount must be the sum of its explained components."""
from __future__ import annotations

from decimal import Decimal

import pytest

from consolidation.engine import consolidate
from consolidation.engine.rounding import r2
from consolidation.pack import pack_parse
from tests.consolidation.helpers import CASES, case_expected, case_text


def test_every_worked_case_is_present():
    assert CASES == ["foreign_subsidiary_cta", "intercompany_mismatch", "intragroup_dividends",
                     "mid_year_acquisition", "partly_owned_goodwill", "three_level_chain", "unrealised_profit",
                     "wholly_owned"]


@pytest.mark.parametrize("case", CASES)
def test_worked_case_gives_the_hand_computed_figures(case):
    result = consolidate(pack_parse(case_text(case)).inputs).to_dict()
    for key, expected in case_expected(case).items():
        assert result[key] == expected, key


@pytest.mark.parametrize("case", CASES)
def test_worked_case_tb_sums_to_zero_and_components_explain_every_account(case):
    result = consolidate(pack_parse(case_text(case)).inputs)
    assert sum(result.tb.values()) == 0
    assert sum(result.exact_tb.values()) == 0
    for account, amount in result.exact_tb.items():
        assert sum((c.amount for c in result.components[account]), Decimal(0)) == amount
    assert result.rounding_adjustments == {}


@pytest.mark.parametrize("case", CASES)
def test_worked_case_balance_sheet_foots(case):
    totals = consolidate(pack_parse(case_text(case)).inputs).totals()
    assert totals["assets"] == totals["liabilities"] + totals["equity"] + totals["net_income"]


def test_foreign_subsidiary_cta_is_derived_from_rates_not_plugged():
    result = consolidate(pack_parse(case_text("foreign_subsidiary_cta")).inputs).to_dict()
    assert result["translation"]["S"] == {
        "currency": "USD", "closing_rate": "0.95", "average_rate": "0.92", "historical_rate": "0.90",
        "equity_at_historical_local": "-8000.00", "profit_and_dividends_local": "-1000.00",
        "cta_from_equity": "-400.00", "cta_from_profit": "-30.00", "cta": "-430.00", "cta_exact": "-430",
    }
    assert result["translation"]["P"]["cta"] == "0.00"
    assert result["goodwill_by_member"]["S"]["goodwill_at_acquisition"] == "810.00"
    assert result["goodwill_by_member"]["S"]["goodwill_fx"] == "45.00"


def test_foreign_subsidiary_translated_components_carry_local_amount_and_rate():
    result = consolidate(pack_parse(case_text("foreign_subsidiary_cta")).inputs)
    cash = result.explain("1000")
    assert cash["amount"] == "3330.00"
    rows = [(c["entity"], c["source"], c.get("local_amount"), c.get("rate"), c["amount"]) for c in cash["components"]]
    assert rows == [
        ("P", "trial_balance", "1430.00", "1.00", "1430.00"),
        ("S", "trial_balance", "2000.00", "0.95", "1900.00"),
    ]
    cta = result.explain("3300")
    assert [(c["entity"], c["source"], c["amount"]) for c in cta["components"]] == [
        ("S", "translation_difference", "-430.00"), ("S", "investment", "-45.00"), ("S", "nci_cta", "86.00")]


def test_three_level_chain_nci_splits_into_direct_and_indirect():
    result = consolidate(pack_parse(case_text("three_level_chain")).inputs)
    nci = result.to_dict()["nci_by_member"]
    assert nci["C"]["nci_pct"] == "0.46" and nci["B"]["nci_pct"] == "0.10"
    assert nci["C"]["at_acquisition"] == "1360.00"  # 46% x 3,500 - 10% x B's cost 2,500
    assert nci["B"]["closing"] == "450.00" and nci["C"]["closing"] == "1820.00"
    assert r2(sum(Decimal(v["closing"]) for v in nci.values())) == Decimal("2270.00")


def test_dividends_case_nci_roll_forward():
    nci = consolidate(pack_parse(case_text("intragroup_dividends")).inputs).to_dict()["nci_by_member"]["S"]
    assert (nci["at_acquisition"], nci["nci_reserves"], nci["nci_profit"], nci["dividends_to_nci"],
            nci["closing"]) == ("1100.00", "200.00", "300.00", "200.00", "1400.00")
    assert nci["post_acquisition_reserves"] == "1000.00"


def test_mismatch_case_eliminates_only_the_agreed_amount():
    result = consolidate(pack_parse(case_text("intercompany_mismatch")).inputs)
    ic = [e for e in result.eliminations if e.kind == "intercompany"]
    assert [(e.ref, [(p.entity, p.account, p.amount) for p in e.postings]) for e in ic] == [
        ("P:2200/S:1200", [("P", "2200", Decimal("1100.00")), ("S", "1200", Decimal("-1100.00"))]),
        ("P:5100/S:4100", [("P", "5100", Decimal("-1000.00")), ("S", "4100", Decimal("1000.00"))]),
    ]
