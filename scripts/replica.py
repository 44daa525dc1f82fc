"""A streaming replica (hot standby) of the private cluster, for tests and benchmarks.

``pg_basebackup -R -X stream`` of the cluster started by scripts/devdb.py into a sibling folder of
var/pg, started on its own port with the primary's connection and lock limits (a standby refuses
lower ones). Usage from Python::

    with streaming_replica(primary_port) as replica:   # {"port": ..., "stop": [argv of pg_ctl stop]}
        ...
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _devdb():
    spec = importlib.util.spec_from_file_location("devdb", ROOT / "scripts" / "devdb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> bool:
    bindir = _devdb().find_bindir()
    return bindir != Path() and (bindir / "pg_basebackup").exists()


@contextlib.contextmanager
def streaming_replica(primary_port: int):
    devdb = _devdb()
    bindir = devdb.find_bindir()
    user = devdb.ensure_system_user()
    home = devdb.data_home(user).parent / f"pg-replica-{os.getpid()}"
    data = home / "data"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    if user:
        os.chown(home, user.pw_uid, user.pw_gid)
    port = _free_port()
    runuser = ["runuser", "-u", user.pw_name, "--"] if user else []
    stop = [*runuser, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    try:
        devdb.as_pg(user, [str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U",
                           "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast"],
                    check=True, capture_output=True)
        # A standby needs at least the primary's max_connections and max_locks_per_transaction.
        opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' "
                "-c max_connections=200 -c max_locks_per_transaction=256 -c shared_buffers=64MB")
        devdb.as_pg(user, [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(home / "server.log"), "-o", opts,
                           "-w", "-t", "60", "start"], check=True, capture_output=True)
        yield {"port": port, "stop": stop}
    finally:
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
