"""Per-request timing: the latency histogram by view, and one JSON log line per request with its
duration, status, user and organisations (the logging filter adds request id, user and orgs)."""
from __future__ import annotations

import logging
import time

from sheshi.observability import metrics

logger = logging.getLogger("sheshi.request")
UNMATCHED = "<unmatched>"  # 404s and the like: one label, not one per probed URL


def view_label(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return match.view_name or match.route or UNMATCHED


class RequestMetricsMiddleware:
    """Place right after RequestIdMiddleware, so the whole stack below is timed and the request
    id, user and organisations are still known when the line is logged."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        view = view_label(request)
        if view != "metrics":  # scrapes would otherwise dominate the numbers they report
            metrics.request_record(view=view, method=request.method, status_class=f"{response.status_code // 100}xx",
                                   seconds=seconds)
        logger.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "view": view, "duration_ms": round(seconds * 1000, 1),
        })
        return response
