"""django-q2 tasks: they take ids and are safe to run twice (the service skips a run that is no
longer queued)."""
from __future__ import annotations

from django.conf import settings
from django_q.tasks import async_task

from sheshi.db.context import current_context, set_context, system_context


def run_enqueue(run_id: int) -> None:
    # The ORM broker calls close_old_connections(), which may close this connection (CONN_MAX_AGE)
    # and with it the session's scope: put the caller's context back on the new connection.
    saved = current_context()
    try:
        async_task("consolidation.tasks.consolidation_run_task", run_id,
                   sync=bool(getattr(settings, "Q_CLUSTER", {}).get("sync")))
    finally:
        set_context(saved)


def consolidation_run_task(run_id: int) -> None:
    from consolidation.services.runs import consolidation_run_execute

    with system_context(f"consolidation_run:{run_id}"):
        consolidation_run_execute(run_id=run_id)
