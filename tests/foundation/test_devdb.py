"""The private PostgreSQL cluster: starts, is reused, and has the two-role split."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    "var/pg" not in os.environ.get("SHESHI_PG_HOME", "var/pg") or not (ROOT / "var" / "pg").exists(),
    reason="the test run uses an external DATABASE_URL, not the private cluster",
)


def run_devdb(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "devdb.py"), *args],
                          capture_output=True, text=True, timeout=120)


def test_env_reuses_the_running_cluster_and_prints_both_roles():
    first = run_devdb("env")
    started = time.monotonic()
    second = run_devdb("env")
    elapsed = time.monotonic() - started
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout  # same port, same roles: reused, not re-created
    assert "initialising" not in second.stderr and "starting" not in second.stderr
    assert "DATABASE_URL=postgres://sheshi_app@127.0.0.1:" in second.stdout
    assert "DATABASE_OWNER_URL=postgres://sheshi_owner@127.0.0.1:" in second.stdout
    assert elapsed < 5


def test_status_reports_running():
    assert run_devdb("status").returncode == 0


def test_the_cluster_runs_as_an_unprivileged_user():
    pid_file = next((ROOT / "var" / "pg").resolve().glob("data/postmaster.pid"))
    pid = pid_file.read_text().splitlines()[0]
    owner = subprocess.run(["ps", "-o", "user=", "-p", pid], capture_output=True, text=True).stdout.strip()
    assert owner and owner != "root"
