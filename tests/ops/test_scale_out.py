"""Scale-out (issue 9): two web processes and two django-q2 clusters against one database.

N jobs are enqueued from two processes at once; both web processes see the same queue; two
clusters drain it. Every execution writes a row, so a job run twice or lost is visible. The job
metrics summed through the shared metrics folder show the same totals from either web process.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

import psycopg
import pytest

from tests.ops.support import ROOT, Site, free_port, require_ops_environment, throwaway_database, wait_for

pytestmark = pytest.mark.slow
JOBS = 200

ENQUEUE = """
import os
from django_q.tasks import async_task
start, stop = map(int, os.environ["OPS_ENQUEUE_RANGE"].split(":"))
for key in range(start, stop):
    async_task("tests.ops.jobs_support.record_execution", key, sync=False)
"""


def metric(text: str, series: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_two_web_and_two_worker_processes_run_every_job_exactly_once(tmp_path):
    require_ops_environment()
    with throwaway_database() as dbname:
        site = Site(tmp=tmp_path, dbname=dbname, extra_env={})
        site.write_config()
        env = site.env()
        for line in site.config.read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
        env.update({"SHESHI_METRICS_DIR": str(tmp_path / "metrics"), "Q_WORKERS": "1", "PYTHONUNBUFFERED": "1"})
        python = str(ROOT / ".venv" / "bin" / "python")
        gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")

        def manage(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([python, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=300, check=True)

        manage("migrate", "--no-input")
        with site.owner_conn() as conn:
            conn.execute("CREATE TABLE ops_job_runs (id bigserial PRIMARY KEY, key int NOT NULL, pid int NOT NULL)")
            conn.execute(f"GRANT SELECT, INSERT ON ops_job_runs TO {env['SHESHI_APP_DB_ROLE']}")
            conn.execute(f"GRANT USAGE ON SEQUENCE ops_job_runs_id_seq TO {env['SHESHI_APP_DB_ROLE']}")

        processes: list[subprocess.Popen] = []
        logs = tmp_path / "logs"
        logs.mkdir()

        def spawn(cmd: list[str], log) -> subprocess.Popen:
            with open(log, "w") as out:  # the child keeps its own copy of the descriptor
                return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

        try:
            ports = [free_port(), free_port()]
            for i, port in enumerate(ports):
                processes.append(spawn([gunicorn, "sheshi.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                                       logs / f"web{i}.log"))

            def scrape(port: int) -> str:
                out = subprocess.run(["curl", "-s", "-H", "X-Forwarded-Proto: https",
                                      f"http://127.0.0.1:{port}/metrics"], capture_output=True, text=True)
                return out.stdout if "# TYPE" in out.stdout else ""

            assert all(wait_for(lambda p=p: scrape(p), timeout=60) for p in ports), "web processes did not start"

            # Enqueue from two processes at once, before any worker runs.
            half = JOBS // 2
            enqueuers = [subprocess.Popen([python, "manage.py", "shell", "-c", ENQUEUE], cwd=ROOT,
                                          env={**env, "OPS_ENQUEUE_RANGE": f"{a}:{b}"},
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                         for a, b in ((0, half), (half, JOBS))]
            for proc in enqueuers:
                assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()[-3000:]
            # Both web processes see the whole queue: the web tier keeps no state of its own.
            for port in ports:
                assert metric(scrape(port), 'sheshi_job_queue_depth{queue="sheshi"}') == JOBS

            started = time.monotonic()
            for i in range(2):
                processes.append(spawn([python, "manage.py", "qcluster"], logs / f"worker{i}.log"))

            with psycopg.connect(site.url("DATABASE_OWNER_URL"), autocommit=True) as conn:
                def drained():
                    runs = conn.execute("SELECT count(*) FROM ops_job_runs").fetchone()[0]
                    queued = conn.execute("SELECT count(*) FROM django_q_ormq").fetchone()[0]
                    return runs >= JOBS and queued == 0
                assert wait_for(drained, timeout=180, interval=0.5), "the clusters did not drain the queue"
                drain_seconds = time.monotonic() - started
                time.sleep(3)  # a duplicate delivery would land now
                per_key = dict(conn.execute("SELECT key, count(*) FROM ops_job_runs GROUP BY key").fetchall())
                by_pid = dict(conn.execute("SELECT pid, count(*) FROM ops_job_runs GROUP BY pid").fetchall())
                pids = sorted(by_pid)
                tasks = conn.execute("SELECT count(*), count(*) FILTER (WHERE success) FROM django_q_task "
                                     "WHERE func = 'tests.ops.jobs_support.record_execution'").fetchone()

            assert sorted(per_key) == list(range(JOBS)), "jobs lost"
            assert {k: n for k, n in per_key.items() if n != 1} == {}, "jobs ran more than once"
            assert len(pids) == 2, f"expected both clusters' workers to run jobs, got pids {pids}"
            assert tasks == (JOBS, JOBS)
            wanted = 'sheshi_jobs_total{func="tests.ops.jobs_support.record_execution",outcome="success"}'
            for port in ports:
                text = scrape(port)
                assert metric(text, wanted) == JOBS
                assert metric(text, 'sheshi_job_queue_depth{queue="sheshi"}') is None  # no queue rows left
            print(f"\nops figures: {JOBS} jobs on 2 clusters x 1 worker drained in {drain_seconds:.1f}s "
                  f"(split {sorted(by_pid.values())})")
        finally:
            for proc in processes:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in processes:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for path in sorted(logs.glob("*.log")) if os.environ.get("SHESHI_OPS_VERBOSE") else []:
                print(path.name, path.read_text()[-2000:])
