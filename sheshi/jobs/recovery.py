"""Recovery of lost jobs: import batches and consolidation runs that no worker will finish.

A job is lost when its worker was killed and no redelivery restarted it, or when its enqueue never
happened. django-q2's own redelivery is not enough: the broker counts ``retry`` from when a worker
*pulled* the task, the services count staleness from when the job *started*, so a task that waited
in a worker's queue and was killed soon after it started comes back while its job still looks
alive, is told "running under a live worker" and is acknowledged: the job stays ``running``
forever. An inline upload cut mid-request leaves its batch the same way, with no task at all.

This module finds such jobs by their own rows and enqueues their existing tasks again. The tasks
are idempotent and the services decide: a finished job is returned as it is, a job running for
longer than the task timeout is restarted as a new attempt (the old attempt can no longer finish
it), a pending/queued one is started. So enqueuing twice, or racing a late redelivery, posts
nothing twice. Each recovered job gets an audit event in its organisation's chain.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services.events import audit_event_record
from consolidation.models import ConsolidationRun, RunStatus
from consolidation.services.runs import run_stale_after
from ledger.imports.models import ImportBatch, ImportStatus
from ledger.imports.services import job_stale_after
from sheshi.db.context import system_context

logger = logging.getLogger("sheshi.jobs")


@dataclass(frozen=True)
class RecoveredJob:
    kind: str  # "import_batch" | "consolidation_run"
    id: int
    organisation_id: int
    status: str  # as found: pending/running, queued/running
    since: object  # started_at for a running job, created/requested_at for a waiting one


def _lost_import_batches(now, stale: timedelta) -> list[RecoveredJob]:
    cutoff = now - stale
    rows = (ImportBatch.objects.filter(Q(status=ImportStatus.RUNNING, started_at__lt=cutoff)
                                       | Q(status=ImportStatus.PENDING, created_at__lt=cutoff))
            .order_by("pk").values_list("pk", "organisation_id", "status", "started_at", "created_at"))
    return [RecoveredJob("import_batch", pk, org, status, started if status == ImportStatus.RUNNING else created)
            for pk, org, status, started, created in rows]


def _lost_consolidation_runs(now, stale: timedelta) -> list[RecoveredJob]:
    cutoff = now - stale
    rows = (ConsolidationRun.objects.filter(Q(status=RunStatus.RUNNING, started_at__lt=cutoff)
                                            | Q(status=RunStatus.QUEUED, requested_at__lt=cutoff))
            .order_by("pk").values_list("pk", "organisation_id", "status", "started_at", "requested_at"))
    return [RecoveredJob("consolidation_run", pk, org, status, started if status == RunStatus.RUNNING else requested)
            for pk, org, status, started, requested in rows]


def _enqueue(job: RecoveredJob) -> None:
    from django_q.tasks import async_task

    if job.kind == "import_batch":
        async_task("ledger.imports.tasks.import_batch_run_task", job.id, task_name=f"import-{job.id}-recovered")
    else:
        from consolidation.tasks import run_enqueue

        run_enqueue(job.id)


def lost_jobs_recover() -> list[RecoveredJob]:
    """Enqueue again every import batch and consolidation run left running past its stale limit,
    or waiting (pending/queued) longer than that limit; record an audit event for each. Runs in
    the system scope (every organisation). Returns what was recovered."""
    with system_context("recover_jobs"):
        now = timezone.now()
        lost = _lost_import_batches(now, job_stale_after()) + _lost_consolidation_runs(now, run_stale_after())
        for job in lost:
            object_type = "ledger.importbatch" if job.kind == "import_batch" else "consolidation.consolidationrun"
            with transaction.atomic():
                audit_event_record(organisation_id=job.organisation_id, action=f"{job.kind}.recovered",
                                   object_type=object_type, object_id=job.id,
                                   changes={"status": job.status, "since": job.since,
                                            "idle_s": round((now - job.since).total_seconds(), 1)})
                # After commit: the task must not run before the event that explains it is visible.
                transaction.on_commit(lambda job=job: _enqueue(job))
            logger.warning("lost job re-enqueued: %s %s (%s since %s)", job.kind, job.id, job.status,
                           job.since.isoformat())
    return lost
