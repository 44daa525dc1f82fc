"""Batch posting over HTTP: POST /api/v1/journal-entries/batch/ against the real server.

    .venv/bin/python -m bench.ledger.batch_api --lines 200000                      # the real run
    .venv/bin/python -m bench.ledger.batch_api --lines 400 --batch-entries 100 --no-readme   # smoke
    .venv/bin/python -m bench.ledger.batch_api --lines 80000 --profile-only     # where a request's time goes

gunicorn (sync workers, sheshi.settings.prod on 127.0.0.1, as bench.ledger.api), bearer token
with scope ``write``, JSON batches of ``--batch-entries`` two-line entries (default 10,000: the
endpoint's limit), each with its own Idempotency-Key, sent back to back by ``--clients``
connections. Lines/s is every line posted over the wall time from the first request to the last
response; the request bodies are built before the clock starts (a client's own cost).

Baselines from the same run, same rows (bench.ledger.world.two_line_amounts):
* the in-process bulk path (ledger.services.bulk.journal_entries_post_bulk, jobs role, RLS scope, audit on) —
  what the HTTP request adds on top of it;
* raw PostgreSQL: COPY of the same line rows into an unconstrained table of the line table's shape,
  as the application's role (bench.ledger.bulk's ``copy`` baseline).

Afterwards the balances are compared with a recomputation from the lines.
"""
from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
import uuid
from pathlib import Path

from bench.ledger import common, server
from bench.ledger.world import two_line_amounts


def batch_bodies(world, n_entries: int, per_batch: int, entity_code: str) -> list[bytes]:
    """The JSON bodies, built up front: (entries, lines) in every one."""
    bodies, entries = [], []
    accounts = world.account_codes
    for i, (day, d, c, amount) in enumerate(two_line_amounts(n_entries, len(accounts))):
        entries.append({"entry_date": day.isoformat(), "description": f"Batch bench entry {i}",
                        "lines": [{"account": accounts[d], "amount": str(amount)},
                                  {"account": accounts[c], "amount": str(-amount)}]})
        if len(entries) == per_batch:
            bodies.append(json.dumps({"entity": entity_code, "entries": entries}).encode())
            entries = []
    if entries:
        bodies.append(json.dumps({"entity": entity_code, "entries": entries}).encode())
    return bodies


def http_run(bodies: list[bytes], token: str, port: int, clients: int) -> dict:
    """Send every body once, ``clients`` connections taking the next one in turn."""
    todo = list(enumerate(bodies))
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    posted = {"entries": 0, "lines": 0}
    run = uuid.uuid4().hex[:8]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            with lock:
                if not todo:
                    break
                n, body = todo.pop(0)
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/journal-entries/batch/", body=body,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                  "Idempotency-Key": f"batch-bench-{run}-{n}"})
            resp = conn.getresponse()
            payload = resp.read()
            t1 = time.perf_counter()
            with lock:
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
                if resp.status == 201:
                    data = json.loads(payload)
                    posted["entries"] += data["entries"]
                    posted["lines"] += data["lines"]
                    latencies.append(t1 - t0)
                elif len(errors) < 3:
                    errors.append(f"{resp.status}: {payload[:300]!r}")
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"seconds": time.perf_counter() - t0, "latencies": latencies, "statuses": statuses, "errors": errors,
            **posted}


def profile_in_process(world, token: str, bodies: list[bytes]) -> list[str]:
    """The request replayed in-process (Django test client, same settings and database): statements
    and CPU per request, then a cProfile of the same requests grouped by package (CPU time: waits on
    PostgreSQL are not counted)."""
    import cProfile
    import pstats
    from collections import defaultdict

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.ledger.api import _package

    client = Client(HTTP_HOST="127.0.0.1")

    def one(body: bytes) -> None:
        resp = client.post("/api/v1/journal-entries/batch/", data=body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        if resp.status_code != 201:
            raise SystemExit(f"profile request failed: {resp.status_code} {resp.content[:300]!r}")

    one(bodies[0])  # warm
    timed = bodies[1:-1] or bodies[:1]
    wall = cpu = 0.0
    statements = 0
    for body in timed:
        with CaptureQueriesContext(connection) as q:
            c0, t0 = time.process_time(), time.perf_counter()
            one(body)
            cpu += time.process_time() - c0
            wall += time.perf_counter() - t0
        statements += len(q.captured_queries)
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    one(bodies[-1])
    prof.disable()
    by_pkg: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in pstats.Stats(prof).stats.items():  # type: ignore[attr-defined]
        by_pkg[_package(filename)] += tottime
    total = sum(by_pkg.values())
    top = sorted(by_pkg.items(), key=lambda kv: -kv[1])[:6]
    n = len(timed)
    return [f"In-process replay of {n} batch request(s) (test client, no HTTP): {wall / n * 1000:,.0f} ms per "
            f"request, {cpu / n * 1000:,.0f} ms of it CPU in this process; {statements / n:.0f} statements per "
            "request through Django (the bulk path's COPY and INSERTs run on its raw cursor, not counted).",
            "cProfile CPU self-time by package: " + ", ".join(f"{k} {v / total:.0%}" for k, v in top) + "."]


def in_process_run(world, n_entries: int, per_batch: int) -> dict:
    """The same entries through ledger.services.bulk directly, one transaction per batch (this process
    connects as the jobs role, bench.ledger.common.django_setup; the organisation scope is set)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from bench.ledger.world import entry_inputs
    from ledger.services.bulk import journal_entries_post_bulk
    from sheshi.db.context import db_context
    from sheshi.tenancy.models import Entity

    inputs = list(entry_inputs(world, n_entries))
    lines = 0
    with db_context(org_ids=[world.org_id], actor_id=world.user_id, actor_label="bench:batch"):
        user = get_user_model().objects.get(pk=world.user_id)
        entity = Entity.objects.get(pk=world.entity_ids[1])
        t0 = time.perf_counter()
        for start in range(0, n_entries, per_batch):
            with transaction.atomic():
                lines += journal_entries_post_bulk(actor=user, entity=entity, source="manual",
                                                   entries=inputs[start:start + per_batch]).lines
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "lines": lines, "entries": n_entries}


def copy_run(db: common.BenchDb, world, n_entries: int) -> dict:
    """Raw PostgreSQL: the same line rows COPY'd into an unconstrained table (app role)."""
    with db.owner() as c:
        c.execute("CREATE TABLE IF NOT EXISTS bench_copy_lines (LIKE ledger_journalline)")
        c.execute(f'GRANT SELECT, INSERT ON bench_copy_lines TO "{db.app_role}"')
    with db.admin() as c:
        periods = dict(c.execute("""SELECT extract(month FROM start_date)::int, id FROM periods_period
                                     WHERE organisation_id = %s AND number <= 12""", [world.org_id]).fetchall())
    accounts = world.account_ids
    cols = ("id, organisation_id, entity_id, period_id, entry_id, line_no, account_id, currency, amount, rate, "
            "functional_amount, counterparty_id, dimensions, memo, import_batch_id, source_row, source_raw")
    t0 = time.perf_counter()
    line_id = 0
    with db.app() as conn:
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('sheshi.org_ids', %s, false)", [str(world.org_id)])
            with cur.copy(f"COPY bench_copy_lines ({cols}) FROM STDIN") as copy:
                for entry_id, (day, d, c, amount) in enumerate(two_line_amounts(n_entries, len(accounts)), start=1):
                    for no, (acc, amt) in enumerate(((accounts[d], amount), (accounts[c], -amount)), start=1):
                        line_id += 1
                        copy.write_row((line_id, world.org_id, world.entity_ids[0], periods[day.month], entry_id, no,
                                        acc, "EUR", amt, 1, amt, None, "{}", "", None, None, ""))
        conn.commit()
    return {"seconds": time.perf_counter() - t0, "lines": line_id, "entries": n_entries}


def balances_check(db: common.BenchDb) -> tuple[int, int]:
    with db.admin() as c:
        lines = c.execute("SELECT count(*) FROM ledger_journalline").fetchone()[0]
        diff = c.execute("""
            WITH l AS (SELECT entity_id, account_id, period_id, currency, sum(amount) a, count(*) n
                         FROM ledger_journalline GROUP BY 1, 2, 3, 4)
            SELECT count(*) FROM l FULL JOIN ledger_balance b USING (entity_id, account_id, period_id, currency)
             WHERE l.a IS DISTINCT FROM b.amount OR l.n IS DISTINCT FROM b.line_count""").fetchone()[0]
    return lines, diff


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=200_000, help="lines per run (two per entry)")
    ap.add_argument("--batch-entries", type=int, default=10_000, help="entries per request (≤ 10,000)")
    ap.add_argument("--clients", type=int, default=1, help="connections sending batches side by side")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--profile-only", action="store_true",
                    help="only the in-process replay of the request (statements, CPU, cProfile by package)")
    args = ap.parse_args(argv)
    n_entries = max(args.lines // 2, 1)

    db = common.create_database("batch", keep=args.keep_db)
    try:
        common.django_setup(db)
        from django.contrib.auth import get_user_model

        from bench.ledger.world import build_world
        from sheshi.access.services.tokens import api_token_issue
        from sheshi.db.context import system_context

        with system_context("bench"):
            world = build_world(entities=2)  # HTTP posts to the first entity, in-process to the second
            _, token = api_token_issue(user=get_user_model().objects.get(pk=world.user_id), name="bench",
                                       scopes=["write"])
        _, audit_note = common.ensure_audit(db)
        bodies = batch_bodies(world, n_entries, args.batch_entries, world.entity_codes[0])
        if args.profile_only:
            print("\n".join(profile_in_process(world, token, bodies)))
            return 0
        facts = common.machine(db)
        facts["gunicorn"] = f"{args.workers} sync workers"
        rep = common.Report(title="Batch posting over HTTP (POST /api/v1/journal-entries/batch/)",
                            command=common.command_line(), facts=facts,
                            columns=["run", "lines", "entries", "requests", "seconds", "lines/s", "vs COPY",
                                     "p50 request ms", "load 1m (start→max)"])
        log = Path("/tmp") / f"bench-ledger-gunicorn-{db.name}.log"
        with server.gunicorn(db, workers=args.workers, log=log, timeout=600) as port:
            print(f"[http] gunicorn on 127.0.0.1:{port}: {len(bodies)} batches of ≤{args.batch_entries:,} entries, "
                  f"{args.clients} client(s) …", flush=True)
            with common.LoadSampler() as load_http:
                http = http_run(bodies, token, port, args.clients)
        print(f"[http] {http['lines'] / http['seconds']:,.0f} lines/s, statuses {http['statuses']}", flush=True)
        if http["errors"]:
            print("[http] errors: " + "; ".join(http["errors"]), flush=True)
        print("[bulk] in-process bulk path …", flush=True)
        with common.LoadSampler() as load_bulk:
            bulk = in_process_run(world, n_entries, args.batch_entries)
        print("[copy] raw COPY …", flush=True)
        with common.LoadSampler() as load_copy:
            copy = copy_run(db, world, n_entries)
        copy_rate = copy["lines"] / copy["seconds"]
        for label, r, load, reqs, p50 in (
                ("HTTP batch endpoint via gunicorn (token, Idempotency-Key)", http, load_http, len(bodies),
                 f"{common.percentile(http['latencies'], 50) * 1000:,.0f}" if http["latencies"] else "—"),
                ("in-process bulk path (ledger.services.bulk, jobs role, RLS scope, audit on)"
                 , bulk, load_bulk, "—", "—"),
                ("raw COPY of the same lines (unconstrained table, app role)", copy, load_copy, "—", "—")):
            rate = r["lines"] / r["seconds"] if r["seconds"] else 0
            rep.rows.append([label, f"{r['lines']:,}", f"{r['entries']:,}", str(reqs), f"{r['seconds']:.1f}",
                             f"{rate:,.0f}", f"{rate / copy_rate:.2f}", p50, load.summary()])
        http_rate = http["lines"] / http["seconds"]
        ok = "meets" if http_rate >= 25_000 else "MISSES"
        rep.notes.append(f"Goal ≥ 25,000 lines/s end to end over HTTP: {ok} ({http_rate:,.0f}/s; "
                         f"{http_rate / (bulk['lines'] / bulk['seconds']):.2f} × the in-process bulk path). "
                         f"Statuses: {http['statuses']}" + (f"; errors: {http['errors'][:2]}" if http["errors"] else "")
                         + ".")
        lines, diff = balances_check(db)
        if diff:
            raise SystemExit(f"balances disagree with lines in {diff} rows")
        rep.notes.append(f"Afterwards: {lines:,} posted lines in the database, balances = recomputation. "
                         + audit_note + ".")
        rep.print()
        if not args.no_readme:
            common.write_readme_section("batch_api", rep)
            print(f"\nwritten to {common.README}")
    finally:
        db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
