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
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from sheshi import __version__
from sheshi.observability import metrics

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what render() writes, whatever the library calls "latest"


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


def queue_families() -> list[GaugeMetricFamily]:
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
    waiting = GaugeMetricFamily("sheshi_job_queue_depth", "Jobs waiting for a worker, per queue.", labels=["queue"])
    in_flight = GaugeMetricFamily("sheshi_job_queue_in_flight", "Jobs handed to a worker and not yet acknowledged.",
                                  labels=["queue"])
    oldest = GaugeMetricFamily("sheshi_job_queue_oldest_seconds", "Age of the oldest waiting job.", labels=["queue"])
    for key, w, f, age in rows:
        waiting.add_metric([key], float(w))
        in_flight.add_metric([key], float(f))
        oldest.add_metric([key], float(age))
    return [waiting, in_flight, oldest]


class ScrapeTimeCollector(Collector):
    """Gauges read when Prometheus scrapes, not kept in the metric files."""

    def collect(self):
        build = GaugeMetricFamily("sheshi_build_info", "The running Sheshi version.", labels=["version"])
        build.add_metric([__version__], 1.0)
        yield build
        try:
            yield from queue_families()
            up = 1.0
        except Exception:  # noqa: BLE001 - a scrape must still answer when the database does not
            up = 0.0
        yield GaugeMetricFamily("sheshi_database_up", "Whether the scrape could query the database.", value=up)


@never_cache
@require_GET
def metrics_view(request):
    if not _allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(metrics.render([ScrapeTimeCollector()]), content_type=CONTENT_TYPE)
