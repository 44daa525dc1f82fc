"""How long a background job may stay 'running' before it counts as lost: one figure for import
batches and consolidation runs (their services restart a lost attempt, sheshi/jobs/recovery.py
enqueues it again)."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def job_stale_after() -> timedelta:
    """A job still 'running' this long after its start has lost its worker: django-q2 kills a task
    at its timeout, and the broker hands it out again after ``retry`` (longer than the timeout)."""
    return timedelta(seconds=int(getattr(settings, "Q_CLUSTER", {}).get("timeout") or 600))
