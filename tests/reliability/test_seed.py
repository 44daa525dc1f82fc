"""The workload's seed is complete: a consolidation run of its group succeeds with the figures
worked by hand in seed.py, and the importers' source system takes a file of the shape they send."""
from __future__ import annotations

from decimal import Decimal

import pytest

from consolidation.models import ConsolidationGroup, ConsolidationRun, RunStatus
from consolidation.services.runs import consolidation_run_request
from consolidation.tasks import consolidation_run_task
from periods.models import Period
from sheshi.db.context import system_context
from tests.reliability.seed import seed

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_of_the_seeded_group_succeeds_with_the_worked_figures():
    seeded = seed(posters=1)
    with system_context("test"):
        group = ConsolidationGroup.objects.get(pk=seeded.group_id)
        period = Period.objects.get(organisation_id=seeded.organisation_id, code="2026-02")
        run = consolidation_run_request(actor=None, group=group, period=period)
        consolidation_run_task(run.pk)
        run = ConsolidationRun.objects.get(pk=run.pk)
    assert (run.status, run.error) == (RunStatus.SUCCEEDED, None)
    assert run.posting_error is None
    # Goodwill 6,000 - 5,000 on REL-B, nil on REL-C; NCI 20 % of REL-C's 5,000.
    assert Decimal(run.results["goodwill"]) == Decimal("1000.00")
    assert Decimal(run.results["nci_equity"]) == Decimal("1000.00")
    assert run.posted_entry_ids and run.reversal_entry_ids == []
