#!/usr/bin/env python3
"""`make run`: the web server and a django-q2 worker (`manage.py qcluster`) together.

One command for both; Ctrl-C (SIGINT) or SIGTERM stops both, and if either exits on its own
the other is stopped too, so nothing is left running behind the terminal. The environment
(DATABASE_URL, DJANGO_SETTINGS_MODULE) is passed through as given.

Usage:  run_dev.py HOST:PORT
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 20  # qcluster finishes the task in hand; after this it is killed


def start(args: list[str]) -> subprocess.Popen:
    # Own process group: a Ctrl-C reaches this script once; stop() then gives each group the same
    # SIGINT a terminal would (runserver's reloader child and qcluster's workers included).
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, start_new_session=True)


def stop(procs: dict[str, subprocess.Popen]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
    deadline = time.monotonic() + GRACE_SECONDS
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"[run] {name} did not stop in {GRACE_SECONDS}s: killing it", flush=True)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> int:
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8000"
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    procs = {"web": start(["runserver", address]), "worker": start(["qcluster"])}
    print(f"[run] web pid {procs['web'].pid}, worker pid {procs['worker'].pid}; Ctrl-C stops both", flush=True)
    code = 0
    while not stopping:
        ended = [(n, p.returncode) for n, p in procs.items() if p.poll() is not None]
        if ended:
            name, code = ended[0]
            print(f"[run] {name} exited with {code}: stopping the rest", flush=True)
            break
        time.sleep(0.3)
    stop(procs)
    print("[run] stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
