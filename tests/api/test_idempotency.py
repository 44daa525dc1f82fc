"""Idempotency-Key records (sheshi/api/idempotency.py), through one create that uses the shared
wrapper (POST /api/v1/fx-rates/): a kept answer is replayed, a failed request leaves its key free,
a claim whose request died is reported as such, and records past their retention are purged by
the command and by the hourly schedule."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from consolidation.models import FxRate
from sheshi.api.idempotency import idempotency_records_purge, request_hash
from sheshi.api.models import IdempotencyRecord
from tests.factories import EntityFactory, user_with_role

pytestmark = pytest.mark.django_db

URL = "/api/v1/fx-rates/"


@pytest.fixture
def entity():
    return EntityFactory(code="IDEM", functional_currency="EUR")


@pytest.fixture
def controller(entity):
    return user_with_role(entity, "controller", username="idem_controller")


def rate_body(org, **kw):
    return {"organisation": org.pk, "from_currency": "USD", "to_currency": "EUR", "rate_type": "closing",
            "rate_date": "2026-03-31", "rate": "0.9", **kw}


def post(client, body, key):
    return client.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def _claimed(user, key: str, body: dict, *, age: timedelta) -> IdempotencyRecord:
    """A claim as a request that never finished leaves it: no status, no answer."""
    req = APIView().initialize_request(APIRequestFactory().post(URL, body, format="json"))
    record = IdempotencyRecord.objects.create(user=user, key=key, method="POST", path=URL,
                                              request_hash=request_hash(req))
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)
    return record


def test_a_replay_answers_the_kept_answer_and_writes_nothing(client, entity, controller):
    client.force_login(controller)
    first = post(client, rate_body(entity.organisation), "k1")
    again = post(client, rate_body(entity.organisation), "k1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json() and "Idempotent-Replayed" not in first
    assert FxRate.objects.count() == 1
    record = IdempotencyRecord.objects.get(user=controller, key="k1")
    assert (record.status_code, record.response_body["id"]) == (201, first.json()["id"])


def test_a_refused_request_leaves_its_key_free_for_the_corrected_one(client, entity, controller):
    client.force_login(controller)
    refused = post(client, rate_body(entity.organisation, to_currency="USD"), "k2")
    assert refused.status_code == 422 and not IdempotencyRecord.objects.exists()
    fixed = post(client, rate_body(entity.organisation), "k2")
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed


def test_a_key_whose_request_is_still_running_is_in_use(client, entity, controller):
    client.force_login(controller)
    _claimed(controller, "k3", rate_body(entity.organisation), age=timedelta(seconds=5))
    resp = post(client, rate_body(entity.organisation), "k3")
    assert (resp.status_code, resp.json()["code"]) == (409, "idempotency_key_in_use")
    assert not FxRate.objects.exists()


def test_a_key_whose_request_died_is_reported_abandoned_never_run_again(client, entity, controller, settings):
    settings.SHESHI_IDEMPOTENCY_ABANDONED_AFTER_SECONDS = 300
    client.force_login(controller)
    _claimed(controller, "k4", rate_body(entity.organisation), age=timedelta(seconds=301))
    resp = post(client, rate_body(entity.organisation), "k4")
    assert (resp.status_code, resp.json()["code"]) == (409, "idempotency_key_abandoned")
    assert "may or may not have taken effect" in resp.json()["detail"]
    assert not FxRate.objects.exists()
    assert IdempotencyRecord.objects.get(key="k4").status_code is None  # still claimed: told again next time
    other = post(client, rate_body(entity.organisation, rate="0.8"), "k4")
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")


def test_the_purge_deletes_records_past_the_retention_and_frees_their_keys(client, entity, controller, settings):
    settings.SHESHI_IDEMPOTENCY_RETENTION_HOURS = 24
    client.force_login(controller)
    assert post(client, rate_body(entity.organisation), "old").status_code == 201
    assert post(client, rate_body(entity.organisation, rate_date="2026-04-30"), "new").status_code == 201
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    _claimed(controller, "dead", rate_body(entity.organisation), age=timedelta(hours=30))
    _claimed(controller, "running", rate_body(entity.organisation), age=timedelta(seconds=1))

    out = io.StringIO()
    call_command("idempotency_purge", stdout=out)
    assert out.getvalue().strip() == "2 Idempotency-Key record(s) older than 24 h deleted"
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new", "running"]

    # The purged key is free again: the same request is a new one (here refused as a duplicate rate).
    again = post(client, rate_body(entity.organisation), "old")
    assert (again.status_code, again.json()["code"]) == (409, "fx_rate_duplicate")


def test_a_claim_outlives_a_shorter_retention_until_it_counts_as_abandoned(entity, controller, settings):
    settings.SHESHI_IDEMPOTENCY_RETENTION_HOURS, settings.SHESHI_IDEMPOTENCY_ABANDONED_AFTER_SECONDS = 0, 300
    _claimed(controller, "running", rate_body(entity.organisation), age=timedelta(seconds=200))
    _claimed(controller, "dead", rate_body(entity.organisation), age=timedelta(seconds=400))
    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["running"]


def test_the_purge_is_scheduled_hourly_and_the_scheduler_runs_it(entity, controller, settings,
                                                                 django_capture_on_commit_callbacks):
    assert Schedule.objects.filter(name="api.idempotency_purge").values_list("func", "schedule_type").get() == (
        "sheshi.api.tasks.idempotency_records_purge_task", "H")
    _claimed(controller, "stale", rate_body(entity.organisation),
             age=timedelta(hours=settings.SHESHI_IDEMPOTENCY_RETENTION_HOURS + 1))
    Schedule.objects.filter(name="api.idempotency_purge").update(next_run=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        scheduler()
    assert not IdempotencyRecord.objects.exists()

