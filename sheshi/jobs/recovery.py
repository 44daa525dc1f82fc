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

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_event_record
from consolidation.models import ConsolidationRun, RunStatus
from ledger.imports.models import ImportBatch, ImportStatus
from sheshi.db.context import system_context
from sheshi.jobs.timeouts import job_stale_after

logger = logging.getLogger("sheshi.jobs")


@dataclass(frozen=True)
class RecoveredJob:
    kind: str  # "import_batch" | "consolidation_run"
    id: int
    organisation_id: int
    status: str  # as found: pending/running, queued/running
    since: object  # started_at for a running job, created/requested_at for a waiting one


def _lost(kind: str, model, *, running: str, waiting: str, waiting_since: str, cutoff) -> list[RecoveredJob]:
    """The jobs of ``model`` running since before ``cutoff``, or waiting (``waiting_since``) since before it."""
    rows = (model.objects.filter(Q(status=running, started_at__lt=cutoff)
                                 | Q(status=waiting, **{f"{waiting_since}__lt": cutoff}))
            .order_by("pk").values_list("pk", "organisation_id", "status", "started_at", waiting_since))
    return [RecoveredJob(kind, pk, org, status, started if status == running else since)
            for pk, org, status, started, since in rows]


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
        cutoff = now - job_stale_after()
        lost = (_lost("import_batch", ImportBatch, running=ImportStatus.RUNNING, waiting=ImportStatus.PENDING,
                      waiting_since="created_at", cutoff=cutoff)
                + _lost("consolidation_run", ConsolidationRun, running=RunStatus.RUNNING, waiting=RunStatus.QUEUED,
                        waiting_since="requested_at", cutoff=cutoff))
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
