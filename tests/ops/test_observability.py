"""Metrics endpoint, request log lines, and request ids carried into django-q2 jobs."""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from sheshi.env import metrics_dir_config
from sheshi.logging import JsonFormatter, RequestContextFilter
from sheshi.observability import enqueue, metrics, record_posting
from sheshi.request_context import request_id_var
from tests.factories import OrganisationFactory, UserFactory, member
from tests.ops import jobs_support


@pytest.fixture(autouse=True)
def _no_metrics_token(monkeypatch):
    monkeypatch.delenv("SHESHI_METRICS_TOKEN", raising=False)


def sample(text: str, series: str) -> float | None:
    """The value of one exact series line in a Prometheus exposition."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def count(text: str, series: str) -> float:
    """A counter's value; 0 before its first increment. The process's counters live for the whole
    test run (multiprocess files cannot be reset in place), so tests compare before and after."""
    return sample(text, series) or 0.0


def rendered() -> str:
    return metrics.render().decode()


@pytest.mark.django_db
def test_metrics_reports_latency_histogram_by_view_and_request_counts(client):
    before = rendered()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/no-such-page").status_code == 404

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.content.decode()
    assert "# TYPE sheshi_http_request_duration_seconds histogram" in text
    for series, grew_by in [('sheshi_http_request_duration_seconds_count{method="GET",view="healthz"}', 3),
                            ('sheshi_http_request_duration_seconds_bucket{le="+Inf",method="GET",view="healthz"}', 3),
                            ('sheshi_http_requests_total{method="GET",status="2xx",view="healthz"}', 3),
                            ('sheshi_http_requests_total{method="GET",status="4xx",view="<unmatched>"}', 1)]:
        assert count(text, series) - count(before, series) == grew_by, series
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
    before = client.get("/metrics").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        record_posting(lines=3)
        record_posting(lines=5, entries=2)
    with pytest.raises(RuntimeError), transaction.atomic():
        record_posting(lines=100)
        raise RuntimeError("rolled back: must not be counted")

    text = client.get("/metrics").content.decode()

    assert count(text, "sheshi_postings_total") - count(before, "sheshi_postings_total") == 3
    assert count(text, "sheshi_posting_lines_total") - count(before, "sheshi_posting_lines_total") == 8


def test_record_posting_refuses_negative_counts():
    before = rendered()
    with pytest.raises(ValueError):
        record_posting(lines=-1)
    assert rendered() == before


def test_histogram_has_every_bucket_even_when_an_observation_is_slow():
    metrics.request_record(view="slow-view", method="GET", status_class="2xx", seconds=3.0)

    text = rendered()

    assert [sample(text, f'sheshi_http_request_duration_seconds_bucket{{le="{le}",method="GET",view="slow-view"}}')
            for le in ("0.005", "2.5", "5.0", "+Inf")] == [0, 0, 1, 1]
    assert sample(text, 'sheshi_http_request_duration_seconds_sum{method="GET",view="slow-view"}') == 3


@pytest.mark.django_db
def test_metrics_sum_the_counts_of_a_forked_worker_that_has_exited(client):
    before = client.get("/metrics").content.decode()

    pid = os.fork()  # as gunicorn and qcluster start their workers
    if pid == 0:
        try:
            metrics.postings_record(entries=7, lines=11)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    metrics.postings_record(entries=2, lines=1)

    text = client.get("/metrics").content.decode()
    assert count(text, "sheshi_postings_total") - count(before, "sheshi_postings_total") == 9
    assert count(text, "sheshi_posting_lines_total") - count(before, "sheshi_posting_lines_total") == 12
    assert (Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]) / f"counter_{pid}.db").exists()


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_metrics_folder_is_wiped_at_start_when_every_process_that_wrote_to_it_has_exited(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", os.environ["PROMETHEUS_MULTIPROC_DIR"])  # restored afterwards
    dead = _dead_pid()
    # This process's own pid on a file is an earlier process's: it is read before anything is written.
    for name in (f"counter_{dead}.db", f"histogram_{dead}.db", f"gauge_livesum_{dead}.db", f"counter_{os.getpid()}.db"):
        (tmp_path / name).write_bytes(b"stale")

    assert metrics_dir_config(str(tmp_path)) == str(tmp_path)

    assert list(tmp_path.iterdir()) == []
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)


def test_metrics_folder_keeps_dead_processes_counts_while_another_writer_still_runs(tmp_path, monkeypatch):
    """Removing only the dead files would make the sums drop part-way, a false reset to Prometheus."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", os.environ["PROMETHEUS_MULTIPROC_DIR"])
    files = {f"counter_{_dead_pid()}.db", f"counter_{os.getppid()}.db"}  # pytest's parent runs
    for name in files:
        (tmp_path / name).write_bytes(b"kept")

    metrics_dir_config(str(tmp_path))

    assert {path.name for path in tmp_path.iterdir()} == files


def test_without_a_configured_folder_each_process_tree_gets_a_new_private_one(monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", os.environ["PROMETHEUS_MULTIPROC_DIR"])
    inherited = os.environ["PROMETHEUS_MULTIPROC_DIR"]

    folder = Path(metrics_dir_config(""))

    assert folder.is_dir() and list(folder.iterdir()) == []
    assert str(folder) != inherited and os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(folder)
    folder.rmdir()


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
    before = rendered()
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
    text = rendered()
    series = 'sheshi_jobs_total{func="tests.ops.jobs_support.remember_request_id",outcome="success"}'
    assert count(text, series) - count(before, series) == 2
