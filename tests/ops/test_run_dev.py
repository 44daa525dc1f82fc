"""scripts/run_dev.py (`make run`): the web server and the worker start together and stop
together — on Ctrl-C, and when either one exits on its own. Stand-in processes replace
runserver and qcluster, so no server or database is needed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.ops.support import ROOT

# Runs run_dev.main() with `start` replaced by a child that writes its pid and sleeps, or, for
# the name given in EXIT_EARLY, exits at once.
DRIVER = r"""
import os, subprocess, sys
sys.path.insert(0, os.path.join(sys.argv[1], "scripts"))
import run_dev

def start(args):
    name = "web" if args[0] == "runserver" else "worker"
    code = "import sys, time; time.sleep(1.5); sys.exit(3)" if os.environ.get("EXIT_EARLY") == name else (
        "import os, time; open(os.environ['PIDS'], 'a').write(str(os.getpid()) + ' '); time.sleep(60)")
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)

run_dev.start = start
sys.exit(run_dev.main())
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is gone for our purpose
        return f.read().split()[2] != "Z"


def run(tmp_path, **env):
    pids = tmp_path / "pids"
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(ROOT)], env={**os.environ, "PIDS": str(pids), **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, pids


def wait_for_pids(pids, n: int) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if pids.exists() and len(found := pids.read_text().split()) >= n:
            return [int(p) for p in found]
        time.sleep(0.05)
    raise AssertionError("the children did not start")


def test_ctrl_c_stops_the_web_server_and_the_worker(tmp_path):
    proc, pids = run(tmp_path)
    children = wait_for_pids(pids, 2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "[run] stopped" in out
    assert not any(alive(p) for p in children)


def test_when_the_worker_exits_the_web_server_is_stopped_too(tmp_path):
    proc, pids = run(tmp_path, EXIT_EARLY="worker")
    out, _ = proc.communicate(timeout=20)
    children = [int(p) for p in pids.read_text().split()]
    assert proc.returncode == 3 and "worker exited with 3" in out
    assert len(children) == 1 and not alive(children[0])
