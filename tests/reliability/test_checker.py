"""The checker must be able to fail: fed outcomes that break a promise, it names the violation."""
from __future__ import annotations

from collections import Counter

from tests.reliability.checker import Report, _check_posts, _check_reads


def post(key: str, outcome: str, entry_id: int | None = None, code: str = "", variant: str = "") -> dict:
    return {"kind": "post", "key": key, "outcome": outcome, "entry_id": entry_id, "code": code, "variant": variant,
            "t0": 1.0, "t1": 2.0}


def kinds(report: Report) -> list[str]:
    return sorted(v.split(":", 1)[0] for v in report.violations)


def test_a_consistent_history_has_no_violation():
    report = Report()
    records = [post("a", "ok", 1), post("a", "ok", 1), post("b", "failed", code="period_locked"),
               post("c", "unknown"), post("d", "unknown")]
    posts = _check_posts(report, records, {"a": [(1, "posted", None)], "c": [(3, "posted", None)]},
                         Counter({"rel:a": 1, "rel:c": 1}))
    assert report.violations == []
    assert report.figures["posts"]["acknowledged"] == 1
    assert (report.figures["posts"]["resolved_present"], report.figures["posts"]["resolved_absent"]) == (1, 1)
    assert posts["c"]["present"] == 1


def test_an_acknowledged_entry_that_is_absent_is_lost():
    report = Report()
    _check_posts(report, [post("a", "ok", 1)], {}, Counter())
    assert kinds(report) == ["lost"]


def test_a_refused_request_that_was_stored_is_a_phantom():
    report = Report()
    _check_posts(report, [post("a", "failed", code="period_locked")], {"a": [(5, "posted", None)]},
                 Counter({"rel:a": 1}))
    assert kinds(report) == ["phantom"]


def test_two_entries_for_one_request_are_a_duplicate_even_under_different_keys():
    report = Report()
    _check_posts(report, [post("a", "unknown"), post("a", "ok", 7)], {"a": [(7, "posted", None)]},
                 Counter({"rel:a": 2}))
    assert kinds(report) == ["duplicated"]


def test_a_replay_answering_with_another_entry_is_reported():
    report = Report()
    _check_posts(report, [post("a", "ok", 7), post("a", "ok", 8)], {"a": [(7, "posted", None)]},
                 Counter({"rel:a": 1}))
    assert kinds(report) == ["replay_mismatch"]


def test_a_draft_left_behind_is_half_written():
    report = Report()
    _check_posts(report, [post("a", "unknown")], {"a": [(7, "draft", None)]}, Counter({"rel:a": 1}))
    assert kinds(report) == ["half_written"]


def test_a_trial_balance_that_does_not_sum_to_zero_is_reported():
    report = Report()
    reads = [{"kind": "tb_read", "outcome": "ok", "entity": "E", "period": "2026-01", "total_debit": "10.0000",
              "total_credit": "10.0000", "reconciles": True},
             {"kind": "tb_read", "outcome": "ok", "entity": "E", "period": "2026-02", "total_debit": "10.0000",
              "total_credit": "9.9999", "reconciles": False}]
    _check_reads(report, reads)
    assert kinds(report) == ["tb_not_zero"]
    assert report.figures["tb_reads"] == {"ok": 2, "not_summing_to_zero": 1}
