"""Lost-job recovery: import batches and consolidation runs that no worker will finish are handed
to their tasks again and end posted/succeeded; live ones are left alone; recovering twice posts
nothing twice (the end state is checked, not the number of enqueues)."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from psycopg.types.range import Range

from audit.models import AuditEvent
from consolidation.models import ConsolidationGroup, ConsolidationRun, RunStatus
from consolidation.services.runs import consolidation_run_request
from ledger.imports.models import ImportBatch, ImportStatus
from ledger.imports.services import import_batch_create
from ledger.models import JournalEntry, JournalLine, LocalAccountMapping
from periods.models import Period
from sheshi.jobs.recovery import lost_jobs_recover
from sheshi.jobs.timeouts import job_stale_after
from tests.consolidation.helpers import CASES_DIR
from tests.imports.helpers import FILES, TB
from tests.ledger.helpers import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """The test chart and FY2026; tb_utf8.csv's local accounts mapped to it."""
    w = build_world()
    for local, group in {"1000": "1100", "1200": "1200", "2000": "2100", "4000": "4100"}.items():
        LocalAccountMapping.objects.create(organisation=w.org, entity=w.entity, local_code=local,
                                           account=w.accounts[group], valid=Range(date(2020, 1, 1), None))
    return w


def _batch(world, *, status, ago, extra=b""):
    """A batch as a lost job leaves it: ``status`` since ``ago`` (started_at for running, created_at
    for pending), nothing posted."""
    batch = import_batch_create(actor=None, entity=world.entity, period=world.period("2026-01"),
                                stream=io.BytesIO((FILES / "tb_utf8.csv").read_bytes() + extra), filename="tb.csv",
                                mapping=TB)
    when = timezone.now() - ago
    ImportBatch.objects.filter(pk=batch.pk).update(status=status, created_at=when,
                                                   started_at=when if status == ImportStatus.RUNNING else None)
    return batch


def _recover(capture):
    with capture(execute=True):
        return lost_jobs_recover()


def _events(action):
    return list(AuditEvent.objects.filter(action=action).values_list("object_id", "actor_label", "changes__status"))


def test_a_batch_left_running_past_the_job_timeout_is_run_again_to_posted(world, django_capture_on_commit_callbacks):
    batch = _batch(world, status=ImportStatus.RUNNING, ago=job_stale_after() * 2)
    recovered = _recover(django_capture_on_commit_callbacks)
    assert [(j.kind, j.id, j.status) for j in recovered] == [("import_batch", batch.pk, "running")]
    done = ImportBatch.objects.get(pk=batch.pk)
    assert (done.status, done.line_count, JournalEntry.objects.filter(import_batch_id=batch.pk).count()) == (
        ImportStatus.POSTED, 4, 1)
    assert _events("import_batch.recovered") == [(str(batch.pk), "system:recover_jobs", "running")]


def test_a_pending_batch_whose_enqueue_was_lost_is_run(world, django_capture_on_commit_callbacks):
    batch = _batch(world, status=ImportStatus.PENDING, ago=job_stale_after() * 2)
    _recover(django_capture_on_commit_callbacks)
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.POSTED


def test_a_batch_running_or_pending_within_the_limit_is_left_alone(world, django_capture_on_commit_callbacks):
    running = _batch(world, status=ImportStatus.RUNNING, ago=timedelta(seconds=1))
    pending = _batch(world, status=ImportStatus.PENDING, ago=timedelta(seconds=1), extra=b"\n")  # another file
    assert _recover(django_capture_on_commit_callbacks) == []
    assert dict(ImportBatch.objects.values_list("pk", "status")) == {running.pk: ImportStatus.RUNNING,
                                                                     pending.pk: ImportStatus.PENDING}
    assert (JournalEntry.objects.count(), _events("import_batch.recovered")) == (0, [])


def test_recovering_twice_before_either_task_runs_posts_the_batch_once(world, django_capture_on_commit_callbacks):
    """Two recoveries (two clusters, or the schedule and an operator) both find the batch lost and
    both enqueue it; the second task finds it posted and changes nothing."""
    batch = _batch(world, status=ImportStatus.RUNNING, ago=job_stale_after() * 2)
    with django_capture_on_commit_callbacks(execute=False) as first:
        lost_jobs_recover()
    with django_capture_on_commit_callbacks(execute=False) as second:
        lost_jobs_recover()
    assert (len(first), len(second)) == (1, 1)
    for callback in [*first, *second]:
        callback()
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.POSTED
    assert (JournalEntry.objects.filter(import_batch_id=batch.pk).count(),
            JournalLine.objects.filter(entry__import_batch_id=batch.pk).count()) == (1, 4)
    assert _recover(django_capture_on_commit_callbacks) == []  # nothing left to recover


@pytest.fixture
def group_period():
    call_command("load_group_pack", str(CASES_DIR / "unrealised_profit.json"), "--org", "URP", stdout=io.StringIO())
    group = ConsolidationGroup.objects.select_related("top_entity").get(organisation__code="URP")
    return group, Period.objects.get(organisation=group.organisation, code="2024-12")


def _run(group_period, *, status, ago):
    group, period = group_period
    # on_commit does not fire inside the test transaction: the run stays queued
    run = consolidation_run_request(actor=None, group=group, period=period)
    when = timezone.now() - ago
    ConsolidationRun.objects.filter(pk=run.pk).update(
        status=status, requested_at=when, started_at=when if status == RunStatus.RUNNING else None,
        attempt=1 if status == RunStatus.RUNNING else 0)
    return run


def test_a_consolidation_run_left_running_is_restarted_and_succeeds_once(group_period,
                                                                        django_capture_on_commit_callbacks):
    run = _run(group_period, status=RunStatus.RUNNING, ago=job_stale_after() * 2)
    with django_capture_on_commit_callbacks(execute=False) as first:
        lost_jobs_recover()
    with django_capture_on_commit_callbacks(execute=False) as second:
        lost_jobs_recover()
    for callback in [*first, *second]:
        callback()
    done = ConsolidationRun.objects.get(pk=run.pk)
    assert (done.status, done.attempt, done.results["nci_equity"]) == (RunStatus.SUCCEEDED, 2, "1875.00")
    live = JournalEntry.objects.filter(pk__in=done.posted_entry_ids, status="posted").count()
    assert live == len(done.posted_entry_ids)
    assert JournalEntry.objects.filter(entity_id=done.group.elimination_entity_id).count() == live
    assert _events("consolidation_run.recovered") == [(str(run.pk), "system:recover_jobs", "running")] * 2


def test_a_queued_run_whose_enqueue_was_lost_runs_and_a_fresh_one_is_left(group_period,
                                                                         django_capture_on_commit_callbacks):
    lost = _run(group_period, status=RunStatus.QUEUED, ago=job_stale_after() * 2)
    fresh = _run(group_period, status=RunStatus.RUNNING, ago=timedelta(seconds=1))
    recovered = _recover(django_capture_on_commit_callbacks)
    assert [(j.kind, j.id) for j in recovered] == [("consolidation_run", lost.pk)]
    assert ConsolidationRun.objects.get(pk=lost.pk).status == RunStatus.SUCCEEDED
    assert (ConsolidationRun.objects.get(pk=fresh.pk).status, ConsolidationRun.objects.get(pk=fresh.pk).attempt) == (
        RunStatus.RUNNING, 1)


def test_recover_jobs_command_lists_what_it_re_enqueued(world, django_capture_on_commit_callbacks):
    batch = _batch(world, status=ImportStatus.RUNNING, ago=job_stale_after() * 2)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("recover_jobs", stdout=out)
    assert out.getvalue().splitlines()[-1] == "1 lost job(s) re-enqueued"
    assert f"import_batch {batch.pk}: running since" in out.getvalue()
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.POSTED


def test_the_recovery_and_the_reaper_are_scheduled():
    from django_q.models import Schedule

    assert dict(Schedule.objects.filter(name__in=["jobs.lost_jobs_recover", "ledger.import_batch_reap"])
                .values_list("func", "schedule_type")) == {
        "sheshi.jobs.tasks.lost_jobs_recover_task": "I", "ledger.imports.tasks.import_batch_reap_task": "H"}


def test_the_clusters_scheduler_runs_the_recovery_from_the_migrated_schedule(world,
                                                                             django_capture_on_commit_callbacks):
    """From the Schedule row the migration wrote to a posted batch: what a qcluster does each minute
    (the scheduler enqueues the task; under test settings it runs synchronously)."""
    from django_q.models import Schedule
    from django_q.scheduler import scheduler

    batch = _batch(world, status=ImportStatus.RUNNING, ago=job_stale_after() * 2)
    Schedule.objects.filter(name="jobs.lost_jobs_recover").update(next_run=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        scheduler()
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.POSTED
    assert Schedule.objects.get(name="jobs.lost_jobs_recover").next_run > timezone.now()
