"""django-q2 tasks for webhook delivery and chain anchoring.

The webhook tasks take ids and are safe to run twice: a delivery run holds the subscription's
advisory lock and resumes from the committed cursor. Schedule ``audit.tasks.webhooks_dispatch``
every minute (django_q Schedule, or cron calling ``manage.py webhooks_deliver``).

``audit_anchor_task`` runs hourly (schedule ``audit.anchor``, migration 0009) and after each
period lock; running it twice writes two anchors of the same state, which is harmless."""
from __future__ import annotations

from django_q.tasks import async_task

from audit.anchor.services import audit_anchor_write
from audit.services.webhooks import webhook_deliver, webhook_subscriptions_due
from sheshi.db.context import system_context


def webhooks_dispatch() -> int:
    """Enqueue one delivery task per subscription with due events."""
    with system_context("webhooks"):
        due = webhook_subscriptions_due()
    for sub_id in due:
        async_task("audit.tasks.webhook_deliver_task", sub_id)
    return len(due)


def webhook_deliver_task(subscription_id: int) -> int:
    with system_context("webhooks"):
        return webhook_deliver(subscription_id=subscription_id)


def audit_anchor_task(reason: str = "schedule", ref: str = "") -> str:
    """Write an anchor of the chain heads to the anchor store (audit/anchor/); returns its name."""
    with system_context("audit_anchor"):
        return audit_anchor_write(reason=reason, ref=ref).name
