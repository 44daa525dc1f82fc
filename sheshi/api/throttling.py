"""DRF throttles keyed on the client address Sheshi trusts (sheshi.request_context.client_addr):
REMOTE_ADDR, or the rightmost untrusted X-Forwarded-For hop behind ``SHESHI_TRUSTED_PROXIES`` —
never DRF's own reading of the header (NUM_PROXIES), which would key on the proxy or on what the
client wrote."""
from __future__ import annotations

from rest_framework import throttling

from sheshi.request_context import client_addr


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_ident(self, request):
        return client_addr(request)


class UserRateThrottle(throttling.UserRateThrottle):
    def get_ident(self, request):
        return client_addr(request)
