"""One Idempotency-Key, one create endpoint — also when two requests with the key race to two
endpoints (ledger/sql/0029_idempotency_key_one_use.sql). Before, each endpoint looked the key up
in the others' tables before creating, so a request whose first use was not yet committed passed
and both created."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client

from ledger.models import JournalEntry
from sheshi.api.models import IdempotencyRecord
from tests.concurrency import run_threads
from tests.factories import user_with_role
from tests.ledger.helpers import build_world
from tests.rules import refused

pytestmark = pytest.mark.django_db(transaction=True)


def entry_body(world) -> dict:
    return {"entity": world.entity.code, "entry_date": "2026-03-10", "description": "raced", "post": True,
            "lines": [{"account": "1200", "amount": "10.00"}, {"account": "4100", "amount": "-10.00"}]}


def test_an_entry_racing_a_claimed_key_waits_for_it_and_is_refused():
    world = build_world("IDRACE")
    preparer = user_with_role(world.entity, "preparer", username="idrace_preparer")
    claimed, answers = threading.Event(), []

    def run(i: int) -> None:
        if i == 0:  # another endpoint's request: its claim of the key, not yet committed
            with transaction.atomic():
                IdempotencyRecord.objects.create(user=preparer, key="race-1", method="POST",
                                                 path="/api/v1/fx-rates/", request_hash="h")
                claimed.set()
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not answers and not _advisory_waiters():
                    time.sleep(0.05)
        else:
            claimed.wait(10)
            client = Client()
            client.force_login(preparer)
            answers.append(client.post("/api/v1/journal-entries/", entry_body(world),
                                       content_type="application/json", HTTP_IDEMPOTENCY_KEY="race-1"))

    assert run_threads(2, run) == []
    (answer,) = answers
    assert (answer.status_code, answer.json()["code"]) == (409, "idempotency_key_reused"), answer.json()
    assert "POST /api/v1/fx-rates/ at " in answer.json()["detail"]
    assert not JournalEntry.objects.filter(idempotency_key="race-1").exists()


def _advisory_waiters() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cur.fetchone()[0]


def test_raw_sql_cannot_keep_one_key_in_two_places():
    """The app role (every test's connection) writing the shared records directly, with a key an
    entry already keeps."""
    world = build_world("IDRAW")
    preparer = user_with_role(world.entity, "preparer", username="idraw_preparer")
    client = Client()
    client.force_login(preparer)
    entry = client.post("/api/v1/journal-entries/", entry_body(world), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="raw-1")
    assert entry.status_code == 201
    message = refused("idempotency_key_used_elsewhere", """
        INSERT INTO sheshi_api_idempotencyrecord (user_id, key, method, path, request_hash, response_headers,
                                                  created_at) VALUES (%s, 'raw-1', 'POST', '/x/', 'h', '{}', now())""",
                      [preparer.pk])
    assert f"POST /api/v1/journal-entries/ (entry {entry.json()['id']})" in message
    assert not IdempotencyRecord.objects.filter(key="raw-1").exists()
