"""Named row locks of the audit app."""
from __future__ import annotations

from audit.models import WebhookState


def webhook_states_for_update():
    """FOR NO KEY UPDATE on a subscriber's delivery state: a replay or retry moves its cursor and
    retry fields, never its key (the subscription's id)."""
    return WebhookState.objects.select_for_update(no_key=True, of=("self",))
