"""Content-Security-Policy (django-csp 4), switched on in settings/prod.py.

Everything is same-origin: the API docs are served from drf-spectacular-sidecar (no CDN), the
Swagger UI script comes from its own URL (SpectacularSwaggerSplitView), so no inline script is
ever allowed. Only the docs pages get what Swagger UI / Redoc need on top: inline styles (both
inject style attributes), data: images (Swagger's icons) and blob: workers (Redoc).
"""
from __future__ import annotations

from csp.constants import NONE, SELF
from csp.middleware import CSPMiddleware

POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
DOCS_PATHS = ("/api/v1/docs/", "/api/v1/redoc/")
DOCS_RELAXATIONS = {
    "style-src": [SELF, "'unsafe-inline'"],
    "img-src": [SELF, "data:"],
    "worker-src": [SELF, "blob:"],
}


class SheshiCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if request.path in DOCS_PATHS:
            parts.update = {**(parts.update or {}), **DOCS_RELAXATIONS}
        return parts
