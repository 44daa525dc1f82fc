"""Load-balancer probes under the production settings: /healthz and /readyz answer a direct caller
from inside the VPC over plain HTTP with any Host; nothing else gets past the https redirect and
ALLOWED_HOSTS that way.

The production settings cannot be loaded into the test process (it runs sheshi.settings.test), so
each case is a request through Django's test client in a child process started with
``DJANGO_SETTINGS_MODULE=sheshi.settings.prod`` against this test's database."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tests.ops.support import with_dbname

ROOT = Path(__file__).resolve().parents[2]
TASK_HOST = "10.0.3.17:8000"  # what the ALB's checker sends: the task's own address
ALB_NODE = "10.0.1.5"

CHILD = r"""
import json, sys
import django
django.setup()
from django.test import Client

out = []
for case in json.loads(sys.argv[1]):
    client = Client(REMOTE_ADDR=case.get("remote", "10.0.1.5"))
    method = getattr(client, case.get("method", "get"))
    response = method(case["path"], HTTP_HOST=case["host"], **case.get("meta", {}))
    body = response.content.decode(errors="replace") if not response.streaming else ""
    out.append({"status": response.status_code, "location": response.get("Location", ""), "body": body[:300]})
print(json.dumps(out))
"""


def _run_prod(cases: list[dict], database_url: str) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "sheshi.settings.prod",
        "SECRET_KEY": "p" * 20 + "Q9#kLm2$vX7@nB4&wZ1!rT6^yU3*hJ8%",
        "ALLOWED_HOSTS": "sheshi.example.com",
        "SHESHI_FIELD_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "CRITICAL",
    })
    result = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cases)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def test_database_url(db):
    if not os.environ.get("DATABASE_URL"):
        pytest.skip("needs DATABASE_URL (eval \"$(python3 scripts/devdb.py env)\")")
    return with_dbname(os.environ["DATABASE_URL"], connection.settings_dict["NAME"])


def test_probes_answer_the_load_balancer_over_http_with_the_task_ip_as_host(test_database_url):
    health, ready = _run_prod([{"path": "/healthz", "host": TASK_HOST}, {"path": "/readyz", "host": TASK_HOST}],
                              test_database_url)
    assert health["status"] == 200 and json.loads(health["body"])["status"] == "ok"
    assert ready["status"] == 200 and json.loads(ready["body"])["status"] == "ready"


def test_readyz_reports_an_unreachable_database_as_503_not_as_a_host_error(test_database_url):
    unreachable = test_database_url.replace(f":{connection.settings_dict['PORT']}/", ":1/")
    (ready,) = _run_prod([{"path": "/readyz", "host": TASK_HOST}], unreachable)
    assert ready["status"] == 503
    assert json.loads(ready["body"])["status"] == "unavailable"


def test_nothing_else_gets_past_the_host_and_https_checks(test_database_url):
    cases = [
        {"path": "/admin/login/", "host": TASK_HOST},  # another page, same direct caller
        {"path": "/api/v1/", "host": TASK_HOST},
        {"path": "/metrics", "host": TASK_HOST},
        {"path": "/healthz/", "host": TASK_HOST},  # not exactly a probe path
        {"path": "/readyz", "host": TASK_HOST, "method": "post"},
        # A client's request forwarded by the load balancer carries X-Forwarded-For: full stack.
        {"path": "/readyz", "host": TASK_HOST, "meta": {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}},
        # A caller outside the private networks.
        {"path": "/readyz", "host": TASK_HOST, "remote": "203.0.113.9"},
        # A client carrying a session: not a checker.
        {"path": "/readyz", "host": TASK_HOST, "meta": {"HTTP_COOKIE": "sessionid=abc"}},
    ]
    results = _run_prod(cases, test_database_url)
    for case, result in zip(cases, results, strict=True):
        assert result["status"] == 400, (case, result)  # DisallowedHost: ALLOWED_HOSTS still applies


def test_the_public_host_over_http_is_still_redirected_to_https_except_the_probes(test_database_url):
    page, probe = _run_prod([{"path": "/admin/login/", "host": "sheshi.example.com",
                              "meta": {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}},
                             {"path": "/readyz", "host": "sheshi.example.com",
                              "meta": {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}}], test_database_url)
    assert page["status"] == 301 and page["location"] == "https://sheshi.example.com/admin/login/"
    assert probe["status"] == 200  # SECURE_REDIRECT_EXEMPT, through the full stack
