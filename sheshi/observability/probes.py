"""Load-balancer probes: ``/healthz`` and ``/readyz`` answered before the rest of the stack.

A load balancer's health checker connects to the task itself, over plain HTTP, with the task's
IP address as ``Host``. Behind it, ``SecurityMiddleware`` would redirect to https
(``SECURE_SSL_REDIRECT``) or ``ALLOWED_HOSTS`` would refuse the host with a 400, so the target
would never turn healthy. This middleware, placed before any middleware that checks anything
(only the request id and the request metrics, which read no ``Host``, come first), answers exactly
those two paths
for a direct caller from a private network and leaves everything else — any other path, any caller
from elsewhere, any request forwarded by a proxy — to the full stack and its checks.

"Direct caller": ``REMOTE_ADDR`` in ``SHESHI_PROBE_NETWORKS`` (the private ranges by default),
no ``X-Forwarded-For`` and no credentials (cookie, ``Authorization``): a checker sends none. A
request the load balancer forwards for a client always carries
that header, so a public ``GET /readyz`` through the load balancer still meets ``ALLOWED_HOSTS``
and the https redirect; only the checker's own connection is let through.
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

PROBE_PATHS = frozenset({"/healthz", "/readyz"})


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def probe_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return _networks(tuple(getattr(settings, "SHESHI_PROBE_NETWORKS", ())))


def is_direct_internal_probe(request) -> bool:
    if request.path_info not in PROBE_PATHS or request.method != "GET":
        return False
    if any(request.META.get(h) for h in ("HTTP_X_FORWARDED_FOR", "HTTP_COOKIE", "HTTP_AUTHORIZATION")):
        return False  # forwarded for a client, or a client with a session or token: the full stack
    try:
        peer = ipaddress.ip_address((request.META.get("REMOTE_ADDR") or "").strip())
    except ValueError:
        return False
    return any(peer in net for net in probe_networks())


class ProbeMiddleware:
    """Before SecurityMiddleware: the two probe views for direct internal callers, nothing else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_direct_internal_probe(request):
            return self.get_response(request)
        from django.urls import resolve

        # The same views the URLconf serves; resolved here so the request metrics label them.
        request.resolver_match = resolve(request.path_info)
        return request.resolver_match.func(request)
