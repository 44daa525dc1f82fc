"""DRF authentication that also points the database context at the authenticated user.

Session users get their context in DatabaseContextMiddleware; token users are only known here."""
from __future__ import annotations

from rest_framework.authentication import SessionAuthentication as DRFSessionAuthentication

from sheshi.request_context import apply_user_context


class ContextSessionAuthentication(DRFSessionAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            apply_user_context(request._request, result[0])
        return result
