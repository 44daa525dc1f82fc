"""The ledger benchmarks still run: each command end to end at tiny sizes (seconds, not figures).

Each run creates its own throwaway database on the private cluster (from a migrated template),
checks its own results (balances equal to a recomputation, the trial balance reconciles) and
drops the database. --no-readme: a smoke run never overwrites the recorded figures.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "bench" / "ledger" / "README.md"

pytestmark = pytest.mark.skipif(not os.environ.get("DATABASE_ADMIN_URL"),
                                reason="needs the private cluster's admin URL (scripts/devdb.py env)")


def _run(*args: str) -> str:
    before = README.read_bytes() if README.exists() else None
    proc = subprocess.run([sys.executable, "-m", *args, "--no-readme"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (README.read_bytes() if README.exists() else None) == before
    return proc.stdout


def _rows(out: str) -> dict[str, list[str]]:
    """The printed table's rows by their first cell."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in out.splitlines()
            if line.startswith("| ")]
    return {r[0]: r for r in rows}


def test_bulk_benchmark_posts_every_variant_and_verifies_balances():
    out = _run("bench.ledger.bulk", "--lines", "400", "--rss-lines", "200")
    rows = _rows(out)
    assert rows["COPY baseline (unconstrained table, app role)"][1] == "400"
    assert rows["COPY into a table with the line indexes + checks"][1] == "400"
    for label in ("bulk path, app role + RLS scope, audit on", "bulk path, audit triggers disabled",
                  "bulk path as owner (no RLS), audit on", "bulk path, same session after a one-entry posting"):
        assert rows[label][1] == "400"
    assert rows["bulk path, app role + RLS, audit on (small)"][1] == "200"
    assert out.count("balances = recomputation") == 5
    assert "Audit cost:" in out and "RLS cost:" in out and "Peak RSS" in out


def test_small_transaction_benchmark_times_each_trigger_in_both_shapes():
    out = _run("bench.ledger.small_txn", "--txns", "20", "--rounds", "1")
    rows = _rows(out)
    for label in ("wall time, every trigger on", "wall time, user triggers off"):
        assert len(rows[label]) == 5
    for trigger_function in ("audit_capture", "ledger_entries_posted", "ledger_entry_refs_check", "ledger_lines_guard",
                             "audit_seal"):
        assert trigger_function in rows


def test_api_benchmark_posts_through_gunicorn_and_raw_sql():
    out = _run("bench.ledger.api", "--clients", "2", "--workers", "1", "--duration", "2", "--warmup", "0.5",
               "--profile-requests", "3")
    rows = _rows(out)
    assert rows["API via gunicorn (token, Idempotency-Key, post)"][1] == "2"
    assert rows["raw SQL insert + post (psycopg, app role)"][1] == "2"
    # Both sides posted something (the raw-SQL side once posted nothing, its threads refused).
    assert int(rows["API via gunicorn (token, Idempotency-Key, post)"][2].replace(",", "")) > 0
    assert int(rows["raw SQL insert + post (psycopg, app role)"][2].replace(",", "")) > 0
    assert "Statuses: {201: " in out
    assert "balances = recomputation" in out


def test_trial_balance_benchmark_generates_posted_data_and_reads_it_three_ways():
    out = _run("bench.ledger.trial_balance", "--lines", "2000", "--batch", "1000", "--repeat", "3", "--workers", "1")
    assert "Trial balance, one entity-year, 2,000 lines in the database" in out
    assert "all equal to a recomputation from the lines" in out
    rows = _rows(out)
    for label in ("service: reports.trial_balance (app role, RLS)",
                  "API: GET /api/v1/reports/trial-balance/ (gunicorn)", "bare SQL aggregate over ledger_balance"):
        assert rows[label][1] == "3"
    assert "reconciles" in out


def test_batch_api_benchmark_posts_over_http_beside_the_bulk_path_and_copy():
    out = _run("bench.ledger.batch_api", "--lines", "400", "--batch-entries", "100", "--workers", "1")
    rows = _rows(out)
    assert rows["HTTP batch endpoint via gunicorn (token, Idempotency-Key)"][1:4] == ["400", "200", "2"]
    assert rows["in-process bulk path (ledger.services.bulk, jobs role, RLS scope, audit on)"][1] == "400"
    assert rows["raw COPY of the same lines (unconstrained table, app role)"][1] == "400"
    assert "Statuses: {201: 2}" in out
    assert "800 posted lines in the database, balances = recomputation" in out


def test_batch_api_profile_replays_the_request_in_process():
    out = _run("bench.ledger.batch_api", "--lines", "800", "--batch-entries", "100", "--profile-only")
    assert "In-process replay of 2 batch request(s)" in out and "statements per request" in out
    assert "cProfile CPU self-time by package: " in out
