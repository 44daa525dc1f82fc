"""Jobs on SQS (moto server): SHESHI_SQS_QUEUE_URL selects django-q2's SQS broker on that queue; the
start-up check compares the visibility timeout with the job timeout; a job enqueued by the app
lands in the queue; and (slow) the reliability workload with killed workers keeps every promise
on the SQS broker."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from sheshi.jobs.sqs import q_cluster_sqs
from tests.cloud.conftest import FAKE_CREDENTIALS, REGION

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def queue(aws):
    def make(visibility: int = 900) -> str:
        return aws("sqs").create_queue(QueueName=f"sheshi-jobs-{uuid.uuid4().hex[:8]}",
                                       Attributes={"VisibilityTimeout": str(visibility)})["QueueUrl"]
    return make


def _sqs_env(moto_endpoint: str, queue_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "Q_SYNC")}
    env.update(FAKE_CREDENTIALS)
    env.update({"SHESHI_SQS_QUEUE_URL": queue_url, "SHESHI_AWS_REGION": REGION, "AWS_ENDPOINT_URL_SQS": moto_endpoint,
                "Q_SYNC": "false", **extra})
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_queue_url_selects_the_sqs_broker_and_keeps_the_job_knobs():
    base = {"name": "sheshi", "orm": "default", "timeout": 600, "retry": 900, "bulk": 1, "max_attempts": 3}
    cluster = q_cluster_sqs(base, region=REGION)
    assert "orm" not in cluster and cluster["broker_class"] == "sheshi.jobs.sqs_broker.QueueUrlSqs"
    assert cluster["sqs"] == {"aws_region": REGION, "receive_message_wait_time_seconds": 10}
    assert {k: cluster[k] for k in ("timeout", "retry", "bulk", "max_attempts")} == \
        {"timeout": 600, "retry": 900, "bulk": 1, "max_attempts": 3}


def test_start_up_check_passes_with_a_visibility_timeout_above_the_job_timeout(moto_endpoint, queue):
    result = _manage(_sqs_env(moto_endpoint, queue(900), Q_TIMEOUT="600", Q_RETRY="900"), "check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_start_up_refuses_a_retry_not_above_the_job_timeout(moto_endpoint, queue):
    result = _manage(_sqs_env(moto_endpoint, queue(900), Q_TIMEOUT="600", Q_RETRY="600"), "check")
    assert result.returncode != 0
    assert "sheshi_jobs.E001" in result.stderr and "Q_RETRY (600 s) must exceed Q_TIMEOUT (600 s)" in result.stderr


def test_start_up_warns_when_the_queue_default_visibility_is_shorter_than_a_job(moto_endpoint, queue):
    result = _manage(_sqs_env(moto_endpoint, queue(30), Q_TIMEOUT="600", Q_RETRY="900"), "check")
    assert "sheshi_jobs.W001" in result.stderr and "queue's own visibility timeout (30 s)" in result.stderr


def test_start_up_names_a_queue_that_cannot_be_read(moto_endpoint):
    missing = f"{moto_endpoint}/123456789012/no-such-queue"
    result = _manage(_sqs_env(moto_endpoint, missing), "check")
    assert result.returncode != 0
    assert f"SHESHI_SQS_QUEUE_URL {missing} cannot be read" in result.stderr


ENQUEUE = r"""
import django
django.setup()
from django_q.tasks import async_task
from django_q.brokers import get_broker
print(type(get_broker()).__name__, async_task("math.floor", 2.5))
"""


def test_a_job_enqueued_by_the_app_lands_in_the_queue_with_its_function(moto_endpoint, queue, aws):
    from django_q.signing import SignedPackage

    url = queue(900)
    result = subprocess.run([sys.executable, "-c", ENQUEUE], cwd=ROOT, env=_sqs_env(moto_endpoint, url),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    broker, task_id = result.stdout.split()
    assert broker == "QueueUrlSqs"
    messages = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    task = SignedPackage.loads(messages[0]["Body"])
    assert (task["id"], task["func"], task["args"]) == (task_id, "math.floor", (2.5,))


@pytest.mark.slow
def test_reliability_workload_with_killed_workers_keeps_every_promise_on_sqs(moto_endpoint, queue, tmp_path):
    if not all(os.environ.get(k) for k in ("DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_ADMIN_URL")):
        pytest.skip('needs the private cluster: eval "$(python3 scripts/devdb.py env)"')
    url = queue(9)  # the run's Q_RETRY: a killed cluster's jobs come back within the run
    out = tmp_path / "report.json"
    env = _sqs_env(moto_endpoint, url, SHESHI_FIELD_KEYS=Fernet.generate_key().decode())
    # The run's stack points every URL, the jobs role's included, at its own database
    # (tests/reliability/stack.py): the worker and the runner are the jobs role, gunicorn the web role.
    proc = subprocess.run([sys.executable, "-m", "tests.reliability.run", "--seconds", "30", "--faults",
                           "qcluster_kill,worker_kill", "--seed", "1919", "--json", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    print(proc.stdout[-6000:], proc.stderr[-3000:])
    report = json.loads(out.read_text())
    assert report["violations"] == []
    assert proc.returncode == 0
    figures = report["figures"]
    assert figures["jobs"]["enqueued"] >= 1 and figures["jobs"].get("unfinished", 0) == 0
    assert figures["consolidation"]["succeeded"] == figures["consolidation"]["requested"] >= 1
    assert [f["fault"] for f in report["faults"]] == ["qcluster_kill", "worker_kill"]
    assert all(f["lost"] == 0 and f["duplicated"] == 0 for f in report["faults"])
