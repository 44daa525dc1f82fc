"""Named row locks of access control."""
from __future__ import annotations

from sheshi.access.models import ApiToken


def api_tokens_for_update():
    """FOR NO KEY UPDATE on a token: revoking sets its revocation time, never its key."""
    return ApiToken.objects.select_for_update(no_key=True, of=("self",))
