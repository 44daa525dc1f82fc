"""django-q2 tasks: they take ids and are safe to run twice (the service skips a run that is no
longer queued)."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from consolidation.models import ConsolidationRun, RunStatus
from consolidation.services.runs import consolidation_run_execute, run_enqueue
from sheshi.db.context import system_context
from sheshi.jobs.kinds import JobKind, RecoveredJob
from sheshi.jobs.timeouts import job_stale_after


def consolidation_run_task(run_id: int) -> None:
    with system_context(f"consolidation_run:{run_id}"):
        consolidation_run_execute(run_id=run_id)


def _lost_consolidation_runs(now: datetime) -> list[RecoveredJob]:
    cutoff = now - job_stale_after()
    rows = (ConsolidationRun.objects.filter(Q(status=RunStatus.RUNNING, started_at__lt=cutoff)
                                            | Q(status=RunStatus.QUEUED, requested_at__lt=cutoff))
            .order_by("pk").values_list("pk", "organisation_id", "status", "started_at", "requested_at"))
    return [RecoveredJob("consolidation_run", pk, org, status, started if status == RunStatus.RUNNING else requested)
            for pk, org, status, started, requested in rows]


# Registered by consolidation/apps.py with the lost-job recovery (sheshi/jobs/recovery.py).
CONSOLIDATION_RUN_JOB = JobKind("consolidation_run", "consolidation.consolidationrun", _lost_consolidation_runs,
                                run_enqueue)
