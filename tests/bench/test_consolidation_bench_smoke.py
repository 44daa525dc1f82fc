"""The consolidation benchmark still runs end to end at a tiny size (seconds, not figures): load a
synthetic group, the raw-SQL baseline, the engine, a full run and a re-run that reverses it.
--no-readme: a smoke run never overwrites the recorded figures."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "bench" / "consolidation" / "README.md"

pytestmark = pytest.mark.skipif(not os.environ.get("DATABASE_ADMIN_URL"),
                                reason="needs the private cluster's admin URL (scripts/devdb.py env)")


def test_consolidation_benchmark_runs_and_reruns_a_small_group():
    before = README.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "bench.consolidation.run", "--entities", "3", "--accounts", "200",
                           "--no-readme"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert README.read_bytes() == before
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in proc.stdout.splitlines()
            if line.startswith("| 3 ")]
    assert len(rows) == 1
    assert int(rows[0][1].replace(",", "")) > 500  # TB lines: 3 members x 170 plain accounts and more
    assert all(float(rows[0][i]) > 0 for i in (3, 4, 5, 6, 8))  # PG aggregate, TB query, engine, run, re-run
    # CPU seconds of the run and the re-run, "total (app+PG)": the database's share is measured too
    for cell in rows[0][9:11]:
        total, parts = cell.split(" ", 1)
        app, pg = (float(x) for x in parts.strip("()").split("+"))
        assert float(total) > 0 and app > 0 and pg > 0, cell
