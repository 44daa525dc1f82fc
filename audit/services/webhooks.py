"""The audit log as an event stream: webhook delivery in sequence order, at least once.

Each subscription has a cursor (WebhookState.cursor_seq): the last sequence number of its
organisation's chain that the receiver acknowledged with a 2xx. A delivery run takes the
subscription's advisory lock (one deliverer at a time, so order holds; a killed worker's lock dies
with its connection), then posts the sealed events after the cursor one by one, in seq order,
advancing and committing the cursor after each acknowledgement. A failure stops the run — nothing
later is sent before it — and schedules a retry with exponential backoff; after MAX_ATTEMPTS the
subscription is dead-lettered (visible in the admin) until retried or replayed. An event posted
but not yet acknowledged when the worker dies is sent again: receivers deduplicate on the event
id (``X-Sheshi-Event-Id``).

Request: ``POST url`` with a JSON body (the event, its seq and chain hash) and headers
``X-Sheshi-Event-Id``, ``X-Sheshi-Seq``, ``X-Sheshi-Timestamp`` and
``X-Sheshi-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from audit import locks
from audit.canonical import parse_json
from audit.models import WebhookState, WebhookStatus, WebhookSubscription
from audit.webhook_urls import webhook_url_check
from sheshi.errors import ValidationFailed

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 10
BACKOFF_MAX_SECONDS = 3600
TIMEOUT_SECONDS = 10
PAGE = 100
_LOCK_NAMESPACE = 0x5EB4  # advisory lock class for webhook subscriptions


@dataclass(frozen=True)
class HttpResult:
    status: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is the receiver's answer, not a new destination: following it would let a public
    endpoint bounce the delivery to an internal one (audit/webhook_urls.py)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def http_post(url: str, body: bytes, headers: dict[str, str]) -> HttpResult:
    try:
        webhook_url_check(url)  # again at delivery: the name may resolve elsewhere since it was saved
    except ValidationFailed as exc:
        return HttpResult(0, exc.errors[0].message)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as resp:  # scheme and host checked above
            return HttpResult(resp.status)
    except urllib.error.HTTPError as exc:
        return HttpResult(exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        return HttpResult(0, f"{type(exc).__name__}: {exc}")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_subscription_create(*, organisation_id: int, name: str, url: str, secret: str,
                                event_types: list[str] | None = None) -> WebhookSubscription:
    """Create a subscription that starts after the current head: it receives what happens next
    (replay_webhooks --from-seq delivers history)."""
    webhook_url_check(url)
    with transaction.atomic():
        sub = WebhookSubscription.objects.create(organisation_id=organisation_id, name=name, url=url, secret=secret,
                                                 event_types=list(event_types or []))
        with connection.cursor() as cur:
            cur.execute("SELECT coalesce(max(seq), 0) FROM audit_chain WHERE organisation_id = %s", [organisation_id])
            head = cur.fetchone()[0]
        WebhookState.objects.create(subscription=sub, organisation_id=organisation_id, cursor_seq=head)
    return sub


def webhook_replay(*, subscription_id: int, from_seq: int) -> WebhookState:
    """Deliver again from ``from_seq`` (inclusive); clears a dead letter."""
    if from_seq < 1:
        raise ValidationFailed("from_seq starts at 1.")
    with transaction.atomic(durable=True):
        state = locks.webhook_states_for_update().get(pk=subscription_id)
        state.cursor_seq, state.status, state.attempts = from_seq - 1, WebhookStatus.ACTIVE, 0
        state.next_attempt_at, state.last_error = None, ""
        state.save(update_fields=["cursor_seq", "status", "attempts", "next_attempt_at", "last_error"])
    return state


def webhook_retry(*, subscription_id: int) -> WebhookState:
    """Retry a dead-lettered or backing-off subscription now, from where it stopped."""
    with transaction.atomic(durable=True):
        state = locks.webhook_states_for_update().get(pk=subscription_id)
        state.status, state.attempts, state.next_attempt_at = WebhookStatus.ACTIVE, 0, None
        state.save(update_fields=["status", "attempts", "next_attempt_at"])
    return state


def _matches(patterns: list[str], action: str) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(action, p) for p in patterns)


def _pending(organisation_id: int, after_seq: int) -> list[dict]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.seq, c.hash, e.id, e.occurred_at, e.actor_id, e.actor_label, e.request_id, e.action,"
            " e.object_type, e.object_id, e.changes::text FROM audit_chain c JOIN audit_event e ON e.id = c.event_id"
            " WHERE c.organisation_id = %s AND c.seq > %s ORDER BY c.seq LIMIT %s",
            [organisation_id, after_seq, PAGE])
        cols = ("seq", "hash", "id", "occurred_at", "actor_id", "actor_label", "request_id", "action", "object_type",
                "object_id", "changes")
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    for r in rows:
        r["changes"] = parse_json(r["changes"])
    return rows


def _body(organisation_id: int, event: dict) -> bytes:
    payload = {"id": event["id"], "seq": event["seq"], "organisation_id": organisation_id,
               "occurred_at": event["occurred_at"].isoformat(), "actor_id": event["actor_id"],
               "actor_label": event["actor_label"], "request_id": event["request_id"], "action": event["action"],
               "object_type": event["object_type"], "object_id": event["object_id"], "changes": event["changes"],
               "chain_hash": event["hash"]}
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS))


def _record_failure(state: WebhookState, error: str) -> None:
    state.attempts += 1
    state.last_error = error[:2000]
    if state.attempts >= MAX_ATTEMPTS:
        state.status, state.next_attempt_at = WebhookStatus.DEAD_LETTER, None
    else:
        state.status, state.next_attempt_at = WebhookStatus.RETRYING, timezone.now() + _backoff(state.attempts)
    state.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])


def webhook_deliver(*, subscription_id: int, post: Callable[[str, bytes, dict], HttpResult] = http_post,
                    max_events: int | None = None, ignore_backoff: bool = False) -> int:
    """Deliver this subscription's pending events in order; returns how many were acknowledged.
    Safe to run twice at once (the second finds the lock taken and returns 0)."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, subscription_id])
        if not cur.fetchone()[0]:
            return 0
    try:
        sub = WebhookSubscription.objects.select_related("state").get(pk=subscription_id)
        state = sub.state
        if not sub.is_active or state.status == WebhookStatus.DEAD_LETTER:
            return 0
        if not ignore_backoff and state.next_attempt_at and state.next_attempt_at > timezone.now():
            return 0
        delivered = 0
        while max_events is None or delivered < max_events:
            events = _pending(sub.organisation_id, state.cursor_seq)
            if not events:
                break
            for event in events:
                if max_events is not None and delivered >= max_events:
                    break
                if _matches(sub.event_types, event["action"]):
                    body = _body(sub.organisation_id, event)
                    timestamp = str(int(time.time()))
                    result = post(sub.url, body, {
                        "Content-Type": "application/json", "X-Sheshi-Event-Id": str(event["id"]),
                        "X-Sheshi-Seq": str(event["seq"]), "X-Sheshi-Timestamp": timestamp,
                        "X-Sheshi-Signature": signature(sub.secret, timestamp, body)})
                    if not result.ok:
                        _record_failure(state, f"seq {event['seq']} (event {event['id']}): "
                                               f"{result.error or f'HTTP {result.status}'}")
                        return delivered
                    delivered += 1
                    state.delivered_count += 1
                    state.last_delivered_at = timezone.now()
                # Acknowledged (or not subscribed to): move the cursor past it, committed at once.
                state.cursor_seq = event["seq"]
                state.status, state.attempts, state.next_attempt_at, state.last_error = \
                    WebhookStatus.ACTIVE, 0, None, ""
                state.save(update_fields=["cursor_seq", "status", "attempts", "next_attempt_at", "last_error",
                                          "delivered_count", "last_delivered_at"])
        return delivered
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, subscription_id])


def webhook_subscriptions_due() -> list[int]:
    """Active subscriptions with events after their cursor whose retry time (if any) has come."""
    with connection.cursor() as cur:
        cur.execute("""
            SELECT s.id FROM audit_webhooksubscription s
              JOIN audit_webhookstate w ON w.subscription_id = s.id
              JOIN audit_chain_head h ON h.organisation_id = s.organisation_id
             WHERE s.is_active AND w.status <> 'dead_letter' AND h.seq > w.cursor_seq
               AND (w.next_attempt_at IS NULL OR w.next_attempt_at <= now())
             ORDER BY s.id""")
        return [r[0] for r in cur.fetchall()]
