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


# --- importers -----------------------------------------------------------------------------------


def upload(key: str, outcome: str, batch_id: int | None = None, *, queued: bool = False, code: str = "",
           rows: int = 2, debits: str = "10") -> dict:
    return {"kind": "import", "key": key, "sha256": f"sha-{key}", "entity": "E", "rows": rows, "debits": debits,
            "outcome": outcome, "batch_id": batch_id, "queued": queued, "code": code, "duplicate_of": "",
            "t0": 1.0, "t1": 2.0}


def import_db(batches: dict[int, tuple[str, str]], held: dict[int, tuple[int, str, str]],
              by_key: dict[str, int]) -> dict:
    """batches: id -> (key, status); held: batch id -> (lines, debits, sum); by_key: key -> lines."""
    from decimal import Decimal

    return {"batches": {i: {"id": i, "entity": "E", "sha256": f"sha-{k}", "status": st}
                        for i, (k, st) in batches.items()},
            "posted": {i: {"entries": 1, "lines": n, "debits": Decimal(d), "total": Decimal(t), "unposted_entries": 0}
                       for i, (n, d, t) in held.items()},
            "lines_by_key": by_key}


def test_imports_posted_whole_and_once_have_no_violation():
    from tests.reliability.checks_imports import check_imports

    report = Report()
    records = [upload("a", "ok", 1), upload("a", "failed", code="import_duplicate"),
               upload("b", "ok", 2, queued=True), upload("c", "failed", code="import_rows_invalid"),
               upload("d", "unknown")]
    check_imports(report, records, import_db({1: ("a", "posted"), 2: ("b", "posted"), 3: ("c", "rejected")},
                                             {1: (2, "10", "0"), 2: (2, "10", "0")}, {"a": 2, "b": 2}))
    assert report.violations == []
    assert report.figures["imports"]["resolved_absent"] == 1


def test_a_batch_with_part_of_its_rows_is_partial():
    from tests.reliability.checks_imports import check_imports

    report = Report()
    check_imports(report, [upload("a", "ok", 1)], import_db({1: ("a", "posted")}, {1: (1, "10", "10")}, {"a": 1}))
    assert set(kinds(report)) == {"import_mismatch", "import_partial"}


def test_lines_of_a_batch_that_did_not_post_are_partial():
    from tests.reliability.checks_imports import check_imports

    report = Report()
    check_imports(report, [upload("a", "unknown")], import_db({1: ("a", "failed")}, {1: (2, "10", "0")}, {"a": 2}))
    assert set(kinds(report)) == {"import_partial"}


def test_the_same_file_posted_twice_is_a_duplicate():
    from tests.reliability.checks_imports import check_imports

    report = Report()
    check_imports(report, [upload("a", "ok", 1), upload("a", "ok", 2)],
                  import_db({1: ("a", "posted"), 2: ("a", "posted")}, {1: (2, "10", "0"), 2: (2, "10", "0")},
                            {"a": 4}))
    assert kinds(report) == ["import_duplicated"]


def test_an_acknowledged_import_that_is_not_posted_is_lost_and_a_queued_one_left_running_is_stuck():
    from tests.reliability.checks_imports import check_imports

    report = Report()
    check_imports(report, [upload("a", "ok", 1), upload("b", "ok", 2, queued=True)],
                  import_db({1: ("a", "failed"), 2: ("b", "running")}, {}, {}))
    assert kinds(report) == ["import_lost", "import_stuck"]


def test_a_refused_upload_whose_file_is_posted_is_a_phantom():
    from tests.reliability.checks_imports import check_imports

    report = Report()
    check_imports(report, [upload("a", "failed", code="period_not_open")],
                  import_db({1: ("a", "posted")}, {1: (2, "10", "0")}, {"a": 2}))
    assert kinds(report) == ["import_phantom"]


# --- consolidation -------------------------------------------------------------------------------


def test_the_subset_search_finds_the_entries_a_run_read_and_only_those():
    from decimal import Decimal as D

    from tests.reliability.checks_consolidation import find_subset

    optional = [{"1100": D(5), "4100": D(-5)}, {"1200": D(7), "4100": D(-7)}, {"1100": D(2), "5100": D(-2)}]
    assert sorted(find_subset({"1100": D(7), "4100": D(-5), "5100": D(-2)}, optional)) == [0, 2]
    assert find_subset({}, optional) == []
    assert find_subset({"1100": D(1)}, optional) is None


class FakeDb:
    """Answers the checker's consolidation queries from fixed rows, in the order they are asked."""

    def __init__(self, answers: list[list[tuple]]):
        self.answers = answers

    def execute(self, sql, params=None):
        rows = self.answers.pop(0)

        class Result:
            def fetchall(self):
                return rows

        return Result()


def run_row(run_id, status, posted, reversed_=(), code=None):
    return (run_id, status, code, 7, list(posted), list(reversed_), None, 1.0, 2.0, 1)


ELIM_RESULTS = {"eliminations": [{"postings": [{"account": "3100", "amount": "4000.00"},
                                               {"account": "1500", "amount": "-4000.00"}]}]}


def consolidation_report(runs, ledger_rows, by_account, records=None):
    from tests.reliability.checks_consolidation import check_consolidation

    report = Report()
    records = records or [{"kind": "consolidation", "outcome": "ok", "run_id": r[0]} for r in runs]
    answers = [runs, [(99,)], ledger_rows]
    if by_account is not None:
        answers += [by_account, [(ELIM_RESULTS,)]]
    check_consolidation(report, FakeDb(answers), records, group_id=1)
    return report


def test_a_rerun_that_reversed_and_replaced_the_set_has_no_violation():
    report = consolidation_report([run_row(1, "succeeded", [10]), run_row(2, "succeeded", [12], [11])],
                                  [(10, 7, "elimination", True), (11, 7, "reversal", False),
                                   (12, 7, "elimination", False)],
                                  [("3100", "4000.00"), ("1500", "-4000.00")])
    assert report.violations == []


def test_two_live_elimination_sets_for_one_period_are_reported():
    report = consolidation_report([run_row(1, "succeeded", [10]), run_row(2, "succeeded", [12])],
                                  [(10, 7, "elimination", False), (12, 7, "elimination", False)], None)
    assert kinds(report) == ["elimination_sets"]


def test_an_elimination_entry_of_no_run_and_a_run_left_running_are_reported():
    report = consolidation_report([run_row(1, "succeeded", [10]), run_row(2, "running", [])],
                                  [(10, 7, "elimination", False), (13, 7, "elimination", True)],
                                  [("3100", "4000.00"), ("1500", "-4000.00")])
    assert kinds(report) == ["elimination_orphan", "job_stuck"]


def test_live_eliminations_that_differ_from_the_runs_by_account_are_reported():
    report = consolidation_report([run_row(1, "succeeded", [10])], [(10, 7, "elimination", False)],
                                  [("3100", "3999.99"), ("1500", "-3999.99")])
    assert kinds(report) == ["elimination_sets"]


def test_a_run_that_failed_is_reported():
    report = consolidation_report([run_row(1, "failed", [], code="net_assets_missing")], [], None)
    assert kinds(report) == ["consolidation_failed"]
