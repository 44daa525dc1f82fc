"""Runs are records: the task is safe to run twice, a run never changes once finished, and its
stored results are exactly the engine's on the same inputs."""
from __future__ import annotations

import gc
import io

import pytest
from django.core.management import call_command

from consolidation.errors import RunNotInStateError
from consolidation.models import ConsolidationGroup, ConsolidationRun, RunStatus
from consolidation.services import runs as run_services
from consolidation.services.runs import _transition, consolidation_run_execute, consolidation_run_request
from consolidation.tasks import consolidation_run_task
from periods.models import Period
from sheshi.errors import ValidationFailed
from tests.consolidation.helpers import CASES_DIR

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued():
    call_command("load_group_pack", str(CASES_DIR / "unrealised_profit.json"), "--org", "URP", stdout=io.StringIO())
    group = ConsolidationGroup.objects.select_related("top_entity").get(organisation__code="URP")
    period = Period.objects.get(organisation=group.organisation, code="2024-12")
    # on_commit does not fire inside the test transaction: the run stays queued
    return consolidation_run_request(actor=None, group=group, period=period)


def test_task_delivered_twice_runs_once(queued):
    consolidation_run_task(queued.pk)
    first = ConsolidationRun.objects.get(pk=queued.pk)
    consolidation_run_task(queued.pk)
    again = ConsolidationRun.objects.get(pk=queued.pk)
    assert first.status == RunStatus.SUCCEEDED
    assert (again.finished_at, again.fingerprint, again.results) == (first.finished_at, first.fingerprint,
                                                                     first.results)
    assert again.history.count() == first.history.count()


def test_finished_run_cannot_move_again(queued):
    consolidation_run_execute(run_id=queued.pk)
    with pytest.raises(RunNotInStateError):
        _transition(queued.pk, RunStatus.RUNNING, status=RunStatus.FAILED)
    assert ConsolidationRun.objects.get(pk=queued.pk).status == RunStatus.SUCCEEDED


def test_stored_results_carry_the_hand_figures_and_progress_history(queued):
    run = consolidation_run_execute(run_id=queued.pk)
    assert (run.results["nci_equity"], run.results["profit_attributable_to_owners"]) == ("1875.00", "1425.00")
    notes = list(run.history.order_by("history_id").values_list("status", "progress", "progress_note"))
    assert notes == [("queued", 0, ""), ("running", 5, "reading"), ("running", 40, "consolidating"),
                     ("running", 80, "storing"), ("succeeded", 100, "done")]


def test_results_written_as_text_by_a_second_thread_are_the_engine_dict(queued):
    """The results' JSON text is made in a second thread while the journals post; what is stored
    (read back) is the dict the run returns, equal to the engine's on the same inputs."""
    from consolidation.engine import consolidate
    from consolidation.selectors.runs import engine_inputs_get

    run = consolidation_run_execute(run_id=queued.pk)
    stored = ConsolidationRun.objects.get(pk=queued.pk)
    assert isinstance(run.results, dict) and stored.results == run.results
    assert stored.results == consolidate(engine_inputs_get(group=stored.group, period=stored.period)).to_dict()
    assert stored.ic_differences == stored.results["ic_differences"]


def test_run_computes_with_the_cyclic_collector_paused_and_restores_it(queued, monkeypatch):
    """The run reads, consolidates and stores with the cyclic collector paused (its full passes
    over the run's large acyclic inputs and results were a third of a run's Python CPU), and the
    collector runs again afterwards, also when the run fails."""
    seen = []
    real = run_services.consolidate

    def consolidate(inputs, **kwargs):
        seen.append(gc.isenabled())
        return real(inputs, **kwargs)

    monkeypatch.setattr(run_services, "consolidate", consolidate)
    assert gc.isenabled()
    run = consolidation_run_execute(run_id=queued.pk)
    assert (run.status, seen, gc.isenabled()) == (RunStatus.SUCCEEDED, [False], True)

    def refuse(inputs, **kwargs):
        raise ValidationFailed("no")

    monkeypatch.setattr(run_services, "consolidate", refuse)
    again = consolidation_run_request(actor=None, group=queued.group, period=queued.period)
    failed = consolidation_run_execute(run_id=again.pk)
    assert (failed.status, gc.isenabled()) == (RunStatus.FAILED, True)
