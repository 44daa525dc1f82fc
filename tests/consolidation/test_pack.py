"""Group pack parsing: a valid pack becomes engine inputs; a malformed one is answered with every
problem at once (path, value, reason)."""
from __future__ import annotations

import copy
import json

import pytest

from consolidation.pack import GroupPackInvalidError, pack_errors_as_dicts, pack_parse
from tests.consolidation.helpers import CASES, case_data


def _errors(data) -> list[tuple[str, str]]:
    with pytest.raises(GroupPackInvalidError) as exc:
        pack_parse(data)
    return [(e["path"], e["code"]) for e in pack_errors_as_dicts(exc.value)]


@pytest.mark.parametrize("case", CASES)
def test_every_worked_case_is_a_valid_pack(case):
    pack = pack_parse(json.dumps(case_data(case)))
    assert pack.period == "2024-12"
    assert pack.inputs.period_end.isoformat() == "2024-12-31"
    assert {m.code for m in pack.inputs.members} == set(case_data(case)["trial_balances"])


def test_not_json_is_one_precise_error():
    with pytest.raises(GroupPackInvalidError) as exc:
        pack_parse("{not json")
    assert [e["code"] for e in pack_errors_as_dicts(exc.value)] == ["not_json"]


def test_all_problems_are_reported_together_with_paths():
    data = case_data("partly_owned_goodwill")
    data["group_currency"] = "EURO"
    data["trial_balances"]["S"][3]["amount"] = "12,5"
    data["trial_balances"]["S"][0]["account"] = "9999"
    data["trial_balances"]["P"][0]["amount"] = 400.0
    data["trial_balances"]["P"][1]["amount"] = "5600.00001"
    data["entities"][1]["ownership_pct"] = "120"
    data["fx_rates"] = [{"from": "XXX", "to": "EUR", "type": "closing", "rate": "1", "date": "2024-12-31"}]
    data["adjustments"][0]["lines"][0]["account"] = "1000"
    assert _errors(data) == [
        ("group_currency", "unknown_currency"),
        ("entities[1].ownership_pct", "out_of_range"),
        ("trial_balances.P[0].amount", "not_decimal"),
        ("trial_balances.P[1].amount", "too_precise"),
        ("trial_balances.S[0].account", "unknown_account"),
        ("trial_balances.S[3].amount", "not_decimal"),
        ("fx_rates[0].from", "unknown_currency"),
        ("adjustments[0].lines[0].account", "invalid"),
    ]


def test_unbalanced_tb_is_reported_with_its_sum():
    data = case_data("wholly_owned")
    data["trial_balances"]["S"][0]["amount"] = "2000.05"
    with pytest.raises(GroupPackInvalidError) as exc:
        pack_parse(data)
    (err,) = pack_errors_as_dicts(exc.value)
    assert (err["path"], err["code"], err["value"]) == ("trial_balances.S", "tb_unbalanced", "0.05")
    assert "does not sum to zero in EUR (sums to 0.05)" in err["reason"]


def test_cycle_in_parent_chain_is_reported():
    data = case_data("three_level_chain")
    data["entities"][1]["parent"] = "C"  # B under C under B
    errors = _errors(data)
    assert ("entities", "cycle") in errors


def test_missing_rate_is_reported_by_currency_type_and_date():
    data = case_data("foreign_subsidiary_cta")
    data["fx_rates"] = [r for r in data["fx_rates"] if r["type"] != "average"]
    with pytest.raises(GroupPackInvalidError) as exc:
        pack_parse(data)
    assert pack_errors_as_dicts(exc.value) == [{
        "path": "fx_rates", "value": "USD->EUR average 2024-12-31", "reason": "missing rate needed for entity S",
        "code": "rate_missing"}]


def test_structure_errors_are_reported():
    data = case_data("three_level_chain")
    data["entities"].append(copy.deepcopy(data["entities"][2]))  # duplicate C
    data["entities"][1]["parent"] = "NOPE"
    data["entities"][2]["acquired_on"] = "2023-02-30"
    data["trial_balances"]["X"] = []
    data["trial_balances"]["C"][0]["counterparty"] = "C"
    data["trial_balances"]["P"][1]["counterparty"] = None
    data["accounts"][2]["ic_pair"] = "1000"
    data["adjustments"].append({"type": "bonus"})
    assert _errors(data) == [
        ("entities[2].acquired_on", "not_date"),
        ("entities[3].code", "duplicate"),
        ("entities[1].parent", "unknown_entity"),
        ("accounts[2].ic_pair", "invalid"),  # 1000 is not an intercompany account
        ("accounts[8].ic_pair", "pair_not_mutual"),  # 2200 -> 1200 but 1200 -> 1000
        ("trial_balances.P[1].counterparty", "required"),
        ("trial_balances.C[0].counterparty", "invalid"),
        ("trial_balances.X", "unknown_entity"),
        ("adjustments[2].type", "invalid"),
    ]


def test_member_joining_before_its_parent_is_reported():
    data = case_data("three_level_chain")
    data["entities"][2]["acquired_on"] = "2023-06-30"
    data["adjustments"] = data["adjustments"]
    assert ("entities[2].acquired_on", "before_parent") in _errors(data)


def test_missing_roles_and_adjustments_are_reported():
    data = case_data("partly_owned_goodwill")
    data["accounts"] = [a for a in data["accounts"] if a["role"] not in ("nci", "goodwill")]
    data["adjustments"] = []
    errors = _errors(data)
    assert ("accounts", "role_missing") in errors
    assert ("adjustments", "required") in errors
    assert sum(1 for e in errors if e == ("accounts", "role_missing")) == 2


def test_ic_pair_must_be_mutual():
    data = case_data("wholly_owned")
    for acc in data["accounts"]:
        if acc["code"] == "2200":
            acc["ic_pair"] = "5100"
    errors = _errors(data)
    assert ("accounts[2].ic_pair", "pair_not_mutual") in errors
