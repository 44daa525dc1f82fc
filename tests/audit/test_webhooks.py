"""Webhooks: the audit log delivered in sequence order, at least once, to a local receiver."""
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from audit.models import AuditChainLink, WebhookState, WebhookStatus
from audit.services.webhooks import (
    MAX_ATTEMPTS,
    webhook_deliver,
    webhook_subscription_create,
    webhook_subscriptions_due,
)
from tests.conftest import requires_role_split
from tests.factories import EntityFactory, OrganisationFactory

pytestmark = [pytest.mark.django_db(transaction=True), requires_role_split]
SECRET = "whsec-test-0123456789"


class Receiver:
    """A local HTTP receiver: records (event id, seq, body, headers); scripted failures/hangs."""

    def __init__(self):
        self.received: list[dict] = []
        self.fail_next = 0
        self.hang_on_seq: int | None = None
        self.hanging = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                seq = int(self.headers["X-Sheshi-Seq"])
                if receiver.hang_on_seq == seq:
                    receiver.hang_on_seq = None
                    receiver.received.append({"seq": seq, "id": int(self.headers["X-Sheshi-Event-Id"]),
                                              "body": body, "headers": dict(self.headers), "acked": False})
                    receiver.hanging.set()
                    time.sleep(30)  # the worker is killed while waiting for this answer
                    return
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.received.append({"seq": seq, "id": int(self.headers["X-Sheshi-Event-Id"]), "body": body,
                                          "headers": dict(self.headers), "acked": True})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def org():
    return OrganisationFactory(code="HOOKS")


def _seqs(org_id: int) -> list[int]:
    return list(AuditChainLink.objects.filter(organisation_id=org_id).order_by("seq").values_list("seq", flat=True))


def test_events_arrive_in_sequence_order_signed_and_identified(org, receiver):
    sub = webhook_subscription_create(organisation_id=org.pk, name="erp", url=receiver.url, secret=SECRET)
    for i in range(4):
        EntityFactory(organisation=org, code=f"H{i}")
    assert webhook_subscriptions_due() == [sub.pk]
    # seq 1 (the organisation) predates the subscription; seq 2 is the subscription's own creation
    assert webhook_deliver(subscription_id=sub.pk) == 5
    assert [r["seq"] for r in receiver.received] == [2, 3, 4, 5, 6]
    bodies = [json.loads(r["body"]) for r in receiver.received]
    assert [(b["seq"], b["id"], b["action"], b["object_type"]) for b in bodies] == [
        (r["seq"], r["id"], "insert", t) for r, t in zip(receiver.received, ["audit.webhooksubscription"]
                                                         + ["tenancy.entity"] * 4, strict=True)]
    assert bodies[1]["chain_hash"] == AuditChainLink.objects.get(organisation_id=org.pk, seq=3).hash
    for r in receiver.received:
        ts = r["headers"]["X-Sheshi-Timestamp"]
        expected = hmac.new(SECRET.encode(), ts.encode() + b"." + r["body"], hashlib.sha256).hexdigest()
        assert r["headers"]["X-Sheshi-Signature"] == "v1=" + expected
    assert WebhookState.objects.get(pk=sub.pk).cursor_seq == 6
    assert webhook_deliver(subscription_id=sub.pk) == 0  # nothing new
    assert webhook_subscriptions_due() == []


def test_event_type_filter_skips_but_advances(org, receiver):
    sub = webhook_subscription_create(organisation_id=org.pk, name="roles", url=receiver.url, secret=SECRET,
                                      event_types=["update"])
    entity = EntityFactory(organisation=org)
    entity.name = "Renamed"
    entity.save(update_fields=["name"])
    assert webhook_deliver(subscription_id=sub.pk) == 1
    assert [json.loads(r["body"])["action"] for r in receiver.received] == ["update"]
    assert WebhookState.objects.get(pk=sub.pk).cursor_seq == _seqs(org.pk)[-1]


def test_failure_stops_in_order_backs_off_then_resumes(org, receiver):
    sub = webhook_subscription_create(organisation_id=org.pk, name="erp", url=receiver.url, secret=SECRET)
    for i in range(3):
        EntityFactory(organisation=org, code=f"F{i}")
    receiver.fail_next = 1
    assert webhook_deliver(subscription_id=sub.pk) == 0
    state = WebhookState.objects.get(pk=sub.pk)
    assert (state.status, state.attempts, state.cursor_seq) == (WebhookStatus.RETRYING, 1, 1)
    event_id = AuditChainLink.objects.get(organisation_id=org.pk, seq=2).event_id
    assert state.last_error == f"seq 2 (event {event_id}): HTTP 503"
    assert webhook_deliver(subscription_id=sub.pk) == 0  # backing off
    assert webhook_subscriptions_due() == []
    assert webhook_deliver(subscription_id=sub.pk, ignore_backoff=True) == 4
    assert [r["seq"] for r in receiver.received] == [2, 3, 4, 5]
    state.refresh_from_db()
    assert (state.status, state.attempts, state.cursor_seq) == (WebhookStatus.ACTIVE, 0, 5)


def test_repeated_failures_dead_letter_until_replayed(org, receiver):
    sub = webhook_subscription_create(organisation_id=org.pk, name="erp", url=receiver.url, secret=SECRET)
    EntityFactory(organisation=org)
    receiver.fail_next = MAX_ATTEMPTS
    for _ in range(MAX_ATTEMPTS):
        webhook_deliver(subscription_id=sub.pk, ignore_backoff=True)
    state = WebhookState.objects.get(pk=sub.pk)
    assert (state.status, state.attempts, state.cursor_seq) == (WebhookStatus.DEAD_LETTER, MAX_ATTEMPTS, 1)
    assert webhook_deliver(subscription_id=sub.pk, ignore_backoff=True) == 0
    assert receiver.received == []
    call_command("replay_webhooks", "--subscription", str(sub.pk), "--from-seq", "1")
    assert webhook_deliver(subscription_id=sub.pk) == 3
    assert [r["seq"] for r in receiver.received] == [1, 2, 3]


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    name = connection.settings_dict["NAME"]
    for key in ("DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_JOBS_URL"):
        if key not in env:
            continue
        parts = urlsplit(env[key])
        env[key] = urlunsplit(parts._replace(path=f"/{name}"))
    env["DJANGO_SETTINGS_MODULE"] = settings.SETTINGS_MODULE
    return env


def test_worker_killed_mid_delivery_loses_nothing_and_keeps_order(org, receiver):
    sub = webhook_subscription_create(organisation_id=org.pk, name="erp", url=receiver.url, secret=SECRET)
    for i in range(6):
        EntityFactory(organisation=org, code=f"K{i}")
    receiver.hang_on_seq = 4
    worker = subprocess.Popen([sys.executable, "manage.py", "webhooks_deliver", "--subscription", str(sub.pk)],
                              cwd=settings.BASE_DIR, env=_subprocess_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        assert receiver.hanging.wait(60), worker.stderr.read() if worker.poll() is not None else "no delivery"
        os.kill(worker.pid, signal.SIGKILL)  # mid-delivery: seq 4 was sent, never acknowledged
    finally:
        worker.wait(30)
    assert WebhookState.objects.get(pk=sub.pk).cursor_seq == 3
    assert webhook_deliver(subscription_id=sub.pk) == 5  # the advisory lock died with the worker's connection
    seqs = [r["seq"] for r in receiver.received]
    assert seqs == [2, 3, 4, 4, 5, 6, 7, 8]  # seq 4 twice (at least once), nothing lost, in order
    first, again = [r for r in receiver.received if r["seq"] == 4]
    assert first["id"] == again["id"] and first["acked"] is False and again["acked"] is True
    assert sorted({r["seq"] for r in receiver.received if r["acked"]}) == _seqs(org.pk)[1:]


def test_dead_letter_is_visible_in_the_admin_and_retried_by_action(org, receiver, client):
    from tests.factories import UserFactory

    sub = webhook_subscription_create(organisation_id=org.pk, name="erp", url=receiver.url, secret=SECRET)
    receiver.fail_next = MAX_ATTEMPTS
    for _ in range(MAX_ATTEMPTS):
        webhook_deliver(subscription_id=sub.pk, ignore_backoff=True)
    admin_user = UserFactory(username="hookadmin", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    page = client.get("/admin/audit/webhooksubscription/", {"state__status": "dead_letter"})
    assert [s.pk for s in page.context["cl"].result_list] == [sub.pk]
    assert "HTTP 503" in page.content.decode()
    client.post("/admin/audit/webhooksubscription/", {"action": "retry_now", "_selected_action": [sub.pk]})
    state = WebhookState.objects.get(pk=sub.pk)
    assert (state.status, state.attempts, state.cursor_seq) == (WebhookStatus.ACTIVE, 0, 1)
    assert webhook_deliver(subscription_id=sub.pk) == 1


@pytest.mark.django_db
def test_webhook_dispatch_is_scheduled_every_minute():
    from django_q.models import Schedule

    sched = Schedule.objects.get(name="audit.webhooks_dispatch")
    assert (sched.func, sched.schedule_type, sched.minutes, sched.repeats) == (
        "audit.tasks.webhooks_dispatch", "I", 1, -1)
