"""The real server for the API benchmarks (gunicorn, production settings, 127.0.0.1) and a tiny
load client: threads + http.client, one keep-alive connection per client, no dependency."""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.ledger import common


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(db: common.BenchDb, *, workers: int, log: Path, timeout: int = 30) -> Iterator[int]:
    """Run gunicorn (sync workers, as deploy/ does) on a free port; yield the port."""
    port = free_port()
    env = dict(os.environ, **common.point_django_at(db))  # the web role, as deployed
    gunicorn_bin = Path(sys.executable).with_name("gunicorn")
    with log.open("w") as out:
        proc = subprocess.Popen([str(gunicorn_bin), "sheshi.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
                                 str(workers), "--keep-alive", "30", "--timeout", str(timeout), "--error-logfile", "-"],
                                cwd=common.ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {proc.returncode}; see {log}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer /healthz in 60 s; see {log}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests in the window
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        return common.percentile(self.latencies, p) * 1000


def run_load(make_request: Callable[[int, int], tuple[str, str, bytes | None, dict]], *, port: int, clients: int,
             duration: float, warmup: float, expect: tuple[int, ...] = (200, 201)) -> LoadResult:
    """``clients`` threads send requests back to back for warmup + duration seconds; only
    requests that start and finish inside the measured window count."""
    result = LoadResult()
    lock = threading.Lock()
    t_start = time.perf_counter() + warmup
    t_end = t_start + duration

    def client(ci: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n = 0
        while True:
            t0 = time.perf_counter()
            if t0 >= t_end:
                break
            method, path, body, headers = make_request(ci, n)
            n += 1
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                with lock:
                    result.errors.append(repr(exc))
                continue
            t1 = time.perf_counter()
            with lock:
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status not in expect and len(result.errors) < 5:
                    result.errors.append(f"{status}: {payload[:300]!r}")
                if status in expect and t0 >= t_start and t1 <= t_end:
                    result.latencies.append(t1 - t0)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = duration
    return result


def json_body(data: dict) -> bytes:
    return json.dumps(data).encode()
