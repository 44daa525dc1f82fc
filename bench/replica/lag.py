"""Replica lag under the bulk-posting benchmark: a streaming replica of the private cluster
(scripts/replica.py), the bulk benchmark (bench.ledger.bulk, variant ``full``) posting into its
throwaway database, and a sampler reading ``pg_stat_replication`` on the primary every 50 ms.

    .venv/bin/python -m bench.replica.lag --lines 20000      # small: seconds
    .venv/bin/python -m bench.replica.lag --lines 1000000    # the real run

Prints the largest replay lag in bytes (primary's current WAL position minus the standby's replay
position) and in time (``replay_lag``), and the WAL written during the run. Nothing is asserted:
the figures say how stale a report on the replica would be while a large import posts.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]


def _replica_module():
    spec = importlib.util.spec_from_file_location("replica_helper", ROOT / "scripts" / "replica.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sample(admin_url: str, stop: threading.Event, samples: list[tuple[int, float]]) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        while not stop.is_set():
            row = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, "
                               "coalesce(extract(epoch FROM replay_lag), 0) FROM pg_stat_replication").fetchone()
            if row is not None:
                samples.append((int(row[0] or 0), float(row[1])))
            time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=20_000)
    args = ap.parse_args(argv)
    admin_url = os.environ.get("DATABASE_ADMIN_URL")
    if not admin_url:
        sys.exit('needs the private cluster: eval "$(python3 scripts/devdb.py env)"')
    helper = _replica_module()
    with helper.streaming_replica(urllib.parse.urlsplit(admin_url).port):
        with psycopg.connect(admin_url, autocommit=True) as conn:
            start_lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        samples: list[tuple[int, float]] = []
        stop = threading.Event()
        sampler = threading.Thread(target=_sample, args=(admin_url, stop, samples), daemon=True)
        sampler.start()
        t0 = time.time()
        bench = subprocess.run([sys.executable, "-m", "bench.ledger.bulk", "--lines", str(args.lines), "--variants",
                                "full", "--no-readme"], cwd=ROOT, capture_output=True, text=True)
        seconds = time.time() - t0
        time.sleep(1)  # let the standby finish replaying, so the last samples show it caught up
        stop.set()
        sampler.join()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            wal = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint", [start_lsn]).fetchone()[0]
    if bench.returncode != 0:
        print(bench.stdout[-3000:], bench.stderr[-3000:])
        return 1
    figures = {"lines": args.lines, "bulk_seconds": round(seconds, 1), "wal_bytes": int(wal),
               "samples": len(samples), "max_lag_bytes": max((b for b, _ in samples), default=0),
               "max_replay_lag_s": round(max((s for _, s in samples), default=0.0), 3),
               "final_lag_bytes": samples[-1][0] if samples else None}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
