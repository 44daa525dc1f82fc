"""The worked cases end to end: load_group_pack posts them through the ledger, consolidate reads
the member TBs back from the balances and must give the hand-computed figures."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from consolidation.models import ConsolidationRun, FxRate, GroupMember, RunStatus
from ledger.models import Account, JournalEntry, JournalLine
from sheshi.tenancy.models import Entity, Organisation
from tests.consolidation.helpers import CASES, CASES_DIR, case_data, case_expected

pytestmark = pytest.mark.django_db


def _consolidate(org: str, *extra) -> dict:
    out = io.StringIO()
    call_command("consolidate", "--org", org, "--period", "2024-12", "--format", "json", *extra, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("case", CASES)
def test_worked_case_through_pack_commands_gives_hand_figures(case):
    call_command("load_group_pack", str(CASES_DIR / f"{case}.json"), "--org", "CASE", stdout=io.StringIO())
    result = _consolidate("CASE")
    for key, expected in case_expected(case).items():
        assert result[key] == expected, key
    run = ConsolidationRun.objects.get()
    assert (run.status, run.progress, run.fingerprint) == (RunStatus.SUCCEEDED, 100, result["fingerprint"])


def test_rerun_on_unchanged_inputs_gives_identical_fingerprint_and_results():
    call_command("load_group_pack", str(CASES_DIR / "foreign_subsidiary_cta.json"), "--org", "CASE",
                 stdout=io.StringIO())
    first, second = _consolidate("CASE"), _consolidate("CASE")
    assert second["run"]["changed_inputs"] == []
    first.pop("run"), second.pop("run")
    assert first == second
    runs = list(ConsolidationRun.objects.order_by("id"))
    assert runs[1].previous_run_id == runs[0].pk


def test_rerun_after_a_rate_changes_says_which_inputs_changed():
    call_command("load_group_pack", str(CASES_DIR / "foreign_subsidiary_cta.json"), "--org", "CASE",
                 stdout=io.StringIO())
    before = _consolidate("CASE")
    rate = FxRate.objects.get(rate_type="closing")
    rate.rate = rate.rate + 1
    rate.save(update_fields=["rate"])
    after = _consolidate("CASE")
    assert after["run"]["changed_inputs"] == ["rates"]
    assert after["fingerprint"] != before["fingerprint"]


def test_pack_fingerprint_matches_ledger_fingerprint():
    """The engine sees the same inputs from the pack file and from the ledger it was loaded into."""
    from consolidation.engine import consolidate
    from consolidation.pack import pack_parse

    text = (CASES_DIR / "intragroup_dividends.json").read_text()
    call_command("load_group_pack", str(CASES_DIR / "intragroup_dividends.json"), "--org", "CASE",
                 stdout=io.StringIO())
    assert _consolidate("CASE")["fingerprint"] == consolidate(pack_parse(text).inputs).fingerprint


def test_malformed_pack_loads_nothing(tmp_path):
    data = case_data("partly_owned_goodwill")
    data["trial_balances"]["S"][0]["amount"] = "3000.01"
    data["entities"][1]["ownership_pct"] = "0"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("load_group_pack", str(path), "--org", "BAD", stdout=io.StringIO(), stderr=err)
    errors = json.loads(err.getvalue())["errors"]
    assert [(e["path"], e["code"]) for e in errors] == [
        ("entities[1].ownership_pct", "out_of_range"), ("trial_balances.S", "tb_unbalanced")]
    assert not Organisation.objects.filter(code="BAD").exists()
    assert (Entity.objects.count(), Account.objects.count(), JournalEntry.objects.count(),
            GroupMember.objects.count()) == (0, 0, 0, 0)


def test_existing_organisation_code_is_refused_and_nothing_changes():
    call_command("load_group_pack", str(CASES_DIR / "wholly_owned.json"), "--org", "CASE", stdout=io.StringIO())
    lines = JournalLine.objects.count()
    with pytest.raises(CommandError, match="organisation already exists"):
        call_command("load_group_pack", str(CASES_DIR / "wholly_owned.json"), "--org", "CASE", stdout=io.StringIO())
    assert (Organisation.objects.count(), JournalLine.objects.count()) == (1, lines)


def test_consolidate_failure_is_recorded_on_the_run():
    call_command("load_group_pack", str(CASES_DIR / "foreign_subsidiary_cta.json"), "--org", "CASE",
                 stdout=io.StringIO())
    FxRate.objects.filter(rate_type="average").delete()
    with pytest.raises(CommandError, match="rate_missing"):
        _consolidate("CASE")
    run = ConsolidationRun.objects.get()
    assert (run.status, run.results, run.fingerprint) == (RunStatus.FAILED, None, "")
    assert run.error["code"] == "rate_missing"


def _run_jobs_queued(callbacks) -> list[int]:
    from consolidation.services.runs import run_enqueue

    return [cb.args[0] for cb in callbacks if getattr(cb, "func", None) is run_enqueue]


def test_consolidate_runs_here_without_queueing_a_duplicate_job(django_capture_on_commit_callbacks):
    """Before: the command queued a job for its run and then ran it inline as well; the job later
    found the run finished and did nothing. Now it runs here and queues nothing."""
    call_command("load_group_pack", str(CASES_DIR / "foreign_subsidiary_cta.json"), "--org", "CASE",
                 stdout=io.StringIO())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = _consolidate("CASE")
    run = ConsolidationRun.objects.get()
    assert (run.status, run.fingerprint, result["run"]["id"]) == (RunStatus.SUCCEEDED, result["fingerprint"], run.pk)
    assert _run_jobs_queued(callbacks) == []


def test_consolidate_with_queue_only_queues_the_run(django_capture_on_commit_callbacks):
    call_command("load_group_pack", str(CASES_DIR / "foreign_subsidiary_cta.json"), "--org", "CASE",
                 stdout=io.StringIO())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = _consolidate("CASE", "--queue")
    run = ConsolidationRun.objects.get()
    assert result == {"run": {"id": run.pk, "status": "queued"}}
    assert (run.status, run.results) == (RunStatus.QUEUED, None)
    assert _run_jobs_queued(callbacks) == [run.pk]
