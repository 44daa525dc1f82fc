"""Metrics endpoint, request log lines, and request ids carried into django-q2 jobs."""
from __future__ import annotations

import json
import logging
import os
import re

import pytest
from django.db import transaction
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from sheshi.logging import JsonFormatter, RequestContextFilter
from sheshi.observability import enqueue, metrics, record_posting
from sheshi.request_context import request_id_var
from tests.factories import OrganisationFactory, UserFactory, member
from tests.ops import jobs_support


@pytest.fixture(autouse=True)
def _fresh_metrics(monkeypatch, tmp_path):
    monkeypatch.delenv("SHESHI_METRICS_DIR", raising=False)
    monkeypatch.delenv("SHESHI_METRICS_TOKEN", raising=False)
    metrics.reset_for_tests()
    yield
    metrics.reset_for_tests()


def sample(text: str, series: str) -> float | None:
    """The value of one exact series line in a Prometheus exposition."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.django_db
def test_metrics_reports_latency_histogram_by_view_and_request_counts(client):
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/no-such-page").status_code == 404

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.content.decode()
    assert "# TYPE sheshi_http_request_duration_seconds histogram" in text
    assert sample(text, 'sheshi_http_request_duration_seconds_count{method="GET",view="healthz"}') == 3
    assert sample(text, 'sheshi_http_request_duration_seconds_bucket{le="+Inf",method="GET",view="healthz"}') == 3
    assert sample(text, 'sheshi_http_requests_total{method="GET",status="2xx",view="healthz"}') == 3
    assert sample(text, 'sheshi_http_requests_total{method="GET",status="4xx",view="<unmatched>"}') == 1
    assert "metrics" not in re.findall(r'view="([^"]+)"', text)  # scrapes are not counted
    # Buckets are cumulative and ascending.
    buckets = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("sheshi_http_request_duration_seconds_bucket") and 'view="healthz"' in line]
    assert len(buckets) == len(metrics.LATENCY_BUCKETS)
    assert buckets == sorted(buckets)
    assert sample(text, "sheshi_database_up") == 1


@pytest.mark.django_db
def test_metrics_refuses_non_loopback_callers_and_wrong_tokens(client, monkeypatch):
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    monkeypatch.setenv("SHESHI_METRICS_TOKEN", "scrape-token-1")
    assert client.get("/metrics").status_code == 403  # loopback no longer enough once a token is set
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    ok = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer scrape-token-1")
    assert ok.status_code == 200


@pytest.mark.django_db
def test_metrics_reports_job_queue_depth_from_the_orm_broker(client):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for i in range(4):
        OrmQ.objects.create(key="sheshi", payload=SignedPackage.dumps({"id": str(i)}), lock=now - timedelta(seconds=60))
    OrmQ.objects.create(key="sheshi", payload=SignedPackage.dumps({"id": "x"}), lock=now + timedelta(minutes=5))

    text = client.get("/metrics").content.decode()

    assert sample(text, 'sheshi_job_queue_depth{queue="sheshi"}') == 4
    assert sample(text, 'sheshi_job_queue_in_flight{queue="sheshi"}') == 1
    assert 55 <= sample(text, 'sheshi_job_queue_oldest_seconds{queue="sheshi"}') < 120


@pytest.mark.django_db
def test_record_posting_counts_on_commit_only(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record_posting(lines=3)
        record_posting(lines=5, entries=2)
    with pytest.raises(RuntimeError), transaction.atomic():
        record_posting(lines=100)
        raise RuntimeError("rolled back: must not be counted")

    text = client.get("/metrics").content.decode()

    assert sample(text, "sheshi_postings_total") == 3
    assert sample(text, "sheshi_posting_lines_total") == 8


def test_record_posting_refuses_negative_counts():
    with pytest.raises(ValueError):
        record_posting(lines=-1)
    assert metrics.collect() == {}


def test_histogram_has_every_bucket_even_when_an_observation_is_slow():
    metrics.observe("sheshi_http_request_duration_seconds", 3.0, view="v", method="GET")

    text = metrics.render()

    assert [sample(text, f'sheshi_http_request_duration_seconds_bucket{{le="{le}",method="GET",view="v"}}')
            for le in ("0.005", "2.5", "5.0", "+Inf")] == [0, 0, 1, 1]
    assert sample(text, 'sheshi_http_request_duration_seconds_sum{method="GET",view="v"}') == 3


def test_metrics_sum_across_processes_through_the_shared_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SHESHI_METRICS_DIR", str(tmp_path))
    other_pid = os.getpid() + 100000
    (tmp_path / f"{other_pid}.json").write_text(json.dumps({"sheshi_postings_total": 7.0}))
    (tmp_path / "garbage.json").write_text("{not json")  # a torn file is skipped, not fatal

    metrics.inc("sheshi_postings_total", 2)

    assert json.loads((tmp_path / f"{os.getpid()}.json").read_text()) == {"sheshi_postings_total": 2.0}
    assert metrics.collect() == {"sheshi_postings_total": 9.0}
    assert sample(metrics.render(), "sheshi_postings_total") == 9


@pytest.mark.django_db
def test_request_log_line_has_duration_status_user_and_organisation(client, caplog):
    org = OrganisationFactory()
    user = UserFactory()
    member(user, org)
    client.force_login(user)
    caplog.handler.addFilter(RequestContextFilter())

    with caplog.at_level(logging.INFO, logger="sheshi.request"):
        response = client.get("/healthz", HTTP_X_REQUEST_ID="req-ops-1")

    assert response["X-Request-ID"] == "req-ops-1"
    (record,) = [r for r in caplog.records if r.name == "sheshi.request"]
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /healthz 200"
    assert (line["status"], line["view"], line["request_id"]) == (200, "healthz", "req-ops-1")
    assert line["user_id"] == str(user.pk)
    assert line["org_ids"] == str(org.pk)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


@pytest.mark.django_db
def test_enqueue_carries_the_request_id_into_the_job_and_its_database_session():
    jobs_support.SEEN.clear()
    token = request_id_var.set("req-ops-job-1")
    try:
        enqueue("tests.ops.jobs_support.remember_request_id", sync=True)
    finally:
        request_id_var.reset(token)
    enqueue("tests.ops.jobs_support.remember_request_id", sync=True)

    assert jobs_support.SEEN[0] == ("req-ops-job-1", "req-ops-job-1")
    outside_rid, outside_db = jobs_support.SEEN[1]
    assert outside_rid.startswith("job:") and outside_db == outside_rid  # no request: the job's own id
    assert request_id_var.get() == ""  # the worker restored the caller's context
    text = metrics.render()
    assert sample(text, 'sheshi_jobs_total{func="tests.ops.jobs_support.remember_request_id",outcome="success"}') == 2
