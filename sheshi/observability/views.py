"""`/metrics` in the Prometheus text format: request latency, jobs, postings, job queue depth."""
from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sheshi import __version__
from sheshi.observability import metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _allowed(request) -> bool:
    """With SHESHI_METRICS_TOKEN set, a matching bearer token; without it, loopback callers only
    (the example nginx site also keeps /metrics to the local Prometheus)."""
    token = getattr(settings, "SHESHI_METRICS_TOKEN", "") or os.environ.get("SHESHI_METRICS_TOKEN", "")
    if token:
        header = request.headers.get("Authorization", "")
        return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def queue_samples() -> list[tuple[str, str, str, list[tuple[dict[str, str], float]]]]:
    """Jobs waiting and in flight per queue, and the age of the oldest waiting one, from the ORM
    broker's table (a task is 'in flight' while its lock lies in the future)."""
    with connection.cursor() as cur:
        cur.execute("""
            SELECT key,
                   count(*) FILTER (WHERE lock <= now()),
                   count(*) FILTER (WHERE lock > now()),
                   coalesce(extract(epoch FROM now() - min(lock) FILTER (WHERE lock <= now())), 0)
            FROM django_q_ormq GROUP BY key ORDER BY key""")
        rows = cur.fetchall()
    waiting = [({"queue": key}, float(w)) for key, w, _, _ in rows]
    in_flight = [({"queue": key}, float(f)) for key, _, f, _ in rows]
    oldest = [({"queue": key}, float(age)) for key, _, _, age in rows]
    return [
        ("sheshi_job_queue_depth", "gauge", "Jobs waiting for a worker, per queue.", waiting),
        ("sheshi_job_queue_in_flight", "gauge", "Jobs handed to a worker and not yet acknowledged.", in_flight),
        ("sheshi_job_queue_oldest_seconds", "gauge", "Age of the oldest waiting job.", oldest),
    ]


@never_cache
@require_GET
def metrics_view(request):
    if not _allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    extra = [("sheshi_build_info", "gauge", "The running Sheshi version.", [({"version": __version__}, 1.0)])]
    try:
        extra += queue_samples()
        up = 1.0
    except Exception:  # noqa: BLE001 - a scrape must still answer when the database does not
        up = 0.0
    extra.append(("sheshi_database_up", "gauge", "Whether the scrape could query the database.", [({}, up)]))
    return HttpResponse(metrics.render(extra), content_type=CONTENT_TYPE)
