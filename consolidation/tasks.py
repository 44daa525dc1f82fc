"""django-q2 tasks: they take ids and are safe to run twice (the service skips a run that is no
longer queued)."""
from __future__ import annotations

from django.conf import settings
from django_q.tasks import async_task

from sheshi.db.context import system_context


def run_enqueue(run_id: int) -> None:
    async_task("consolidation.tasks.consolidation_run_task", run_id,
               sync=bool(getattr(settings, "Q_CLUSTER", {}).get("sync")))


def consolidation_run_task(run_id: int) -> None:
    from consolidation.services import consolidation_run_execute

    with system_context(f"consolidation_run:{run_id}"):
        consolidation_run_execute(run_id=run_id)
