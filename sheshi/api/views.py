"""Base views shared by every app's API, and health endpoints."""
from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sheshi import __version__


@never_cache
@require_GET
def healthz(request):
    """The process is up. No database access: a liveness probe must not fail on a DB blip."""
    return JsonResponse({"status": "ok", "version": __version__})


@never_cache
@require_GET
def readyz(request):
    """Ready to serve: the database answers and every migration is applied."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which kind
        return JsonResponse({"status": "unavailable", "reason": type(exc).__name__}, status=503)
    if pending:
        return JsonResponse({"status": "unavailable", "reason": "migrations_pending",
                             "pending": len(pending)}, status=503)
    return JsonResponse({"status": "ready", "version": __version__})
