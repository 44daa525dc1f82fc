"""django-q2 tasks of the job-upkeep schedules (migrations/0001_schedule_job_recovery.py)."""
from __future__ import annotations

from sheshi.jobs.recovery import lost_jobs_recover


def lost_jobs_recover_task() -> int:
    """Every minute: enqueue again the jobs no worker will finish (sheshi/jobs/recovery.py)."""
    return len(lost_jobs_recover())
