"""The services that own their transaction are durable (issue #20): called inside another
transaction they refuse, so no caller can silently decide when their work commits — or, for a
run request, when (and whether) its job is queued. The test's own transaction is exempt."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from consolidation.models import ConsolidationGroup, ConsolidationRun, RunStatus
from consolidation.services.runs import consolidation_run_request, consolidation_runs_request
from ledger.models import EntryStatus
from ledger.services.entries import journal_entry_create, journal_entry_void
from periods.models import Period
from tests.consolidation.helpers import CASES_DIR
from tests.ledger.helpers import build_world

pytestmark = pytest.mark.django_db

NESTED = "A durable atomic block cannot be nested within another atomic block"


@pytest.fixture
def group_period():
    call_command("load_group_pack", str(CASES_DIR / "unrealised_profit.json"), "--org", "URP", stdout=io.StringIO())
    group = ConsolidationGroup.objects.select_related("top_entity").get(organisation__code="URP")
    return group, Period.objects.get(organisation=group.organisation, code="2024-12")


def test_a_run_request_inside_a_callers_transaction_is_refused_and_records_nothing(group_period):
    group, period = group_period
    with pytest.raises(RuntimeError, match=NESTED), transaction.atomic():
        consolidation_run_request(actor=None, group=group, period=period)
    with pytest.raises(RuntimeError, match=NESTED), transaction.atomic():
        consolidation_runs_request(actor=None, group=group, periods=[period])
    assert ConsolidationRun.objects.count() == 0


def test_a_run_request_queues_its_job_on_its_own_commit(group_period, django_capture_on_commit_callbacks):
    group, period = group_period
    with django_capture_on_commit_callbacks(execute=True) as queued:
        run = consolidation_run_request(actor=None, group=group, period=period)
    assert len(queued) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED  # the test settings' queue runs the job synchronously


def test_voiding_an_entry_inside_a_callers_transaction_is_refused_and_changes_nothing():
    world = build_world("DUR")
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("10")).entry
    with pytest.raises(RuntimeError, match=NESTED), transaction.atomic():
        journal_entry_void(actor=None, entry_id=entry.pk, reason="nested")
    entry.refresh_from_db()
    assert (entry.status, entry.void_reason) == (EntryStatus.DRAFT, "")
