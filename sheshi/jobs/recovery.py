"""Recovery of lost jobs: import batches and consolidation runs that no worker will finish.

A job is lost when its worker was killed and no redelivery restarted it, or when its enqueue never
happened. django-q2's own redelivery is not enough: the broker counts ``retry`` from when a worker
*pulled* the task, the services count staleness from when the job *started*, so a task that waited
in a worker's queue and was killed soon after it started comes back while its job still looks
alive, is told "running under a live worker" and is acknowledged: the job stays ``running``
forever. An inline upload cut mid-request leaves its batch the same way, with no task at all.

This module finds such jobs by their own rows (each app registers its job kinds: sheshi/jobs/kinds.py)
and enqueues their existing tasks again. The tasks
are idempotent and the services decide: a finished job is returned as it is, a job running for
longer than the task timeout is restarted as a new attempt (the old attempt can no longer finish
it), a pending/queued one is started. So enqueuing twice, or racing a late redelivery, posts
nothing twice. Each recovered job gets an audit event in its organisation's chain.
"""
from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from sheshi.audit_log import audit_event_record
from sheshi.db.context import system_context
from sheshi.jobs.kinds import JobKind, RecoveredJob, job_kinds

logger = logging.getLogger("sheshi.jobs")


def lost_jobs_recover() -> list[RecoveredJob]:
    """Enqueue again every job of every registered kind left running past its stale limit, or
    waiting (pending/queued) longer than that limit; record an audit event for each. Runs in the
    system scope (every organisation). Returns what was recovered."""
    with system_context("recover_jobs"):
        now = timezone.now()
        lost: list[tuple[JobKind, RecoveredJob]] = [(kind, job) for kind in job_kinds() for job in kind.lost(now)]
        for kind, job in lost:
            with transaction.atomic():
                audit_event_record(organisation_id=job.organisation_id, action=f"{job.kind}.recovered",
                                   object_type=kind.object_type, object_id=job.id,
                                   changes={"status": job.status, "since": job.since,
                                            "idle_s": round((now - job.since).total_seconds(), 1)})
                # After commit: the task must not run before the event that explains it is visible.
                transaction.on_commit(lambda kind=kind, job=job: kind.enqueue(job.id))
            logger.warning("lost job re-enqueued: %s %s (%s since %s)", job.kind, job.id, job.status,
                           job.since.isoformat())
    return [job for _, job in lost]
