"""Faults injected mid-run, on a schedule, each recording when it struck and when the system was
whole again. Recovery is measured from the fault to the first moment the affected part works:
a respawned web worker set answering, a restarted cluster finishing a job, a successful write."""
from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field

from tests.reliability.proxy import CutProxy
from tests.reliability.stack import Stack

FAULTS = ("worker_kill", "qcluster_kill", "backend_terminate", "commit_cut", "sever_all", "consolidation_kill",
          "import_kill")
# Faults that kill the cluster while a given job is mid-way (see mid_job.py).
MID_JOB_FAULTS = ("consolidation_kill", "import_kill")


@dataclass
class FaultEvent:
    name: str
    at: float
    detail: str = ""
    recovered_at: float | None = None  # set here for process faults; from the records otherwise
    extra: dict = field(default_factory=dict)


class FaultInjector(threading.Thread):
    def __init__(self, stack: Stack, proxy: CutProxy, schedule: list[tuple[float, str]], token: str,
                 stop: threading.Event, seeded=None, base_url: str = "", recorder=None):
        super().__init__(name="faults", daemon=True)
        self.stack, self.proxy, self.schedule, self.token, self.stop_event = stack, proxy, schedule, token, stop
        self.seeded, self.base_url, self.recorder = seeded, base_url, recorder  # for the mid-job faults
        self.events: list[FaultEvent] = []
        self.errors: list[str] = []

    def run(self) -> None:
        start = time.time()
        for at, name in sorted(self.schedule):
            if self.stop_event.wait(max(0.0, start + at - time.time())):
                return
            try:
                self.events.append(getattr(self, name)())
            except Exception as exc:
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")

    def _web_ok(self) -> bool:
        return self.stack.web_ok(self.token)

    def worker_kill(self) -> FaultEvent:
        workers = self.stack.gunicorn_workers()
        victim = workers[0]
        t = time.time()
        os.kill(victim, signal.SIGKILL)
        ev = FaultEvent("worker_kill", t, f"kill -9 gunicorn worker {victim} of {len(workers)}")
        deadline = t + 60
        while time.time() < deadline:
            now = self.stack.gunicorn_workers()
            if victim not in now and len(now) >= len(workers) and self._web_ok():
                ev.recovered_at = time.time()
                break
            time.sleep(0.05)
        return ev

    def qcluster_kill(self) -> FaultEvent:
        t = time.time()
        pid = self.stack.qcluster.pid if self.stack.qcluster else None
        self.stack.kill_qcluster()
        ev = FaultEvent("qcluster_kill", t, f"kill -9 the qcluster process group {pid}; restarted after 1 s")
        time.sleep(1.0)
        self.stack.start_qcluster()
        ev.extra["restarted_at"] = time.time()
        # Recovered when the new cluster finishes a job (the checker reads the task table).
        return ev

    def backend_terminate(self) -> FaultEvent:
        with self.stack.admin() as admin:
            pids = [r[0] for r in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = %s "
                "AND pid <> pg_backend_pid() ORDER BY state = 'active' DESC, state_change DESC LIMIT 2",
                [self.stack.env()["SHESHI_APP_DB_ROLE"]]).fetchall()]
            t = time.time()
            done = [pid for pid in pids if admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]]
        return FaultEvent("backend_terminate", t, f"pg_terminate_backend on {len(done)} app backends {done}")

    def commit_cut(self) -> FaultEvent:
        before = len(self.proxy.cuts)
        armed = time.time()
        self.proxy.arm_commit_cut(2)
        deadline = armed + 15
        while len(self.proxy.cuts) < before + 2 and time.time() < deadline and not self.stop_event.is_set():
            time.sleep(0.02)
        fired = self.proxy.cuts[before:]
        return FaultEvent("commit_cut", fired[0] if fired else armed,
                          f"{len(fired)} connections cut right after sending COMMIT", extra={"cuts": fired})

    def consolidation_kill(self) -> FaultEvent:
        from tests.reliability.mid_job import consolidation_kill

        return consolidation_kill(self)

    def import_kill(self) -> FaultEvent:
        from tests.reliability.mid_job import import_kill

        return import_kill(self)

    def sever_all(self) -> FaultEvent:
        t = time.time()
        n = self.proxy.sever_all()
        return FaultEvent("sever_all", t, f"{n} app↔PostgreSQL connections severed at once")


def mid_job_fault_figures(db, ev: FaultEvent, runs: dict[int, dict], files: dict[str, dict]) -> dict:
    from tests.reliability.mid_job import figures

    return figures(db, ev, runs, files)
