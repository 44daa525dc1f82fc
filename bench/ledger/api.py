"""API posting benchmark: POST /api/v1/journal-entries/ {"post": true} against the real server.

    .venv/bin/python -m bench.ledger.api --clients 8 --duration 30 --workers 4     # the real run
    .venv/bin/python -m bench.ledger.api --duration 2 --warmup 1 --no-readme       # smoke

gunicorn (sync workers) with sheshi.settings.prod on 127.0.0.1 (SECURE_SSL_REDIRECT=false, a
generated SECRET_KEY, DEBUG off, throttling on with a high limit), bearer token with scope
``write``, a fresh Idempotency-Key per request, two-line entries posted at once. Measures
entries/s over the window and p50/p95/p99 latency.

Baseline in the same run: the same insert + post as raw SQL from as many psycopg connections
as clients (app role, scope and actor set; INSERT lines, INSERT the entry as posted — which fires
the same posting trigger — COMMIT: the API's own shape).

Where the time goes: the same request replayed in-process (Django test client, same settings
and database) with every SQL statement timed, and a cProfile of those requests grouped by
package.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

from bench.ledger import common, server


def entry_body(world, rng: random.Random, n: int) -> dict:
    amount = Decimal(rng.randrange(1, 10_000_000)) / 100
    d, c = rng.sample(range(len(world.account_codes)), 2)
    return {"entity": world.entity_codes[0], "entry_date": str(date(2026, 1, 1) + timedelta(days=n % 365)),
            "description": f"API bench entry {n}", "post": True,
            "lines": [{"account": world.account_codes[d], "amount": str(amount)},
                      {"account": world.account_codes[c], "amount": str(-amount)}]}


def api_load(world, token: str, port: int, clients: int, duration: float, warmup: float) -> server.LoadResult:
    run = uuid.uuid4().hex[:8]
    rngs = [random.Random(common_seed + i) for i in range(clients)]

    def make(ci: int, n: int):
        body = entry_body(world, rngs[ci], ci * 1_000_000 + n)
        return ("POST", "/api/v1/journal-entries/", server.json_body(body),
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                 "Idempotency-Key": f"bench-{run}-{ci}-{n}"})

    return server.run_load(make, port=port, clients=clients, duration=duration, warmup=warmup, expect=(201,))


common_seed = 20260101


def sql_baseline(db: common.BenchDb, world, clients: int, duration: float, warmup: float) -> server.LoadResult:
    """The same insert + post as raw SQL, one psycopg connection per client thread."""
    result = server.LoadResult()
    lock = threading.Lock()
    t_start = time.perf_counter() + warmup
    t_end = t_start + duration
    with db.app() as c:
        c.execute("SELECT set_config('sheshi.org_ids', %s, false)", [str(world.org_id)])
        periods = dict(c.execute("""SELECT extract(month FROM start_date)::int, id FROM periods_period
                                     WHERE organisation_id = %s AND number <= 12""", [world.org_id]).fetchall())

    def client(ci: int) -> None:
        rng = random.Random(common_seed + 100 + ci)
        conn = psycopg.connect(db.app_url)
        conn.execute("SELECT set_config('sheshi.org_ids', %s, false), set_config('sheshi.actor_id', %s, false)",
                     [str(world.org_id), str(world.user_id)])
        conn.commit()
        n = 0
        while True:
            t0 = time.perf_counter()
            if t0 >= t_end:
                break
            day = date(2026, 1, 1) + timedelta(days=n % 365)
            amount = Decimal(rng.randrange(1, 10_000_000)) / 100
            d, c = rng.sample(world.account_ids, 2)
            n += 1
            with conn.cursor() as cur:
                # The API's own shape: lines first, then the entry inserted as posted (its INSERT
                # fires the posting trigger). A draft posted by its preparer is refused under the
                # poster_not_preparer policy (ledger/sql/0020), so no draft + UPDATE here.
                cur.execute("SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id'))")
                entry_id = cur.fetchone()[0]
                cur.execute("""INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no,
                                   account_id, currency, amount, rate, functional_amount, dimensions, memo, source_raw)
                               VALUES (%(o)s, %(e)s, %(p)s, %(j)s, 1, %(d)s, 'EUR', %(a)s, 1, %(a)s, '{}', '', ''),
                                      (%(o)s, %(e)s, %(p)s, %(j)s, 2, %(c)s, 'EUR', -%(a)s, 1, -%(a)s, '{}', '', '')""",
                            {"o": world.org_id, "e": world.entity_ids[0], "p": periods[day.month], "j": entry_id,
                             "d": d, "c": c, "a": amount})
                cur.execute("""INSERT INTO ledger_journalentry (id, organisation_id, entity_id, period_id, entry_date,
                                   description, source, status, created_by_id, created_at, posted_by_id, posted_at,
                                   idempotency_key, request_hash)
                               VALUES (%s, %s, %s, %s, %s, %s, 'manual', 'posted', %s, now(), %s, now(), %s, '')""",
                            [entry_id, world.org_id, world.entity_ids[0], periods[day.month], day,
                             f"SQL bench entry {n}", world.user_id, world.user_id,
                             f"sql-{ci}-{n}-{uuid.uuid4().hex[:8]}"])
            conn.commit()
            t1 = time.perf_counter()
            if t0 >= t_start and t1 <= t_end:
                with lock:
                    result.latencies.append(t1 - t0)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = duration
    return result


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0].split(".")[0]
    if filename.startswith(str(common.ROOT)):
        return "sheshi code (" + Path(filename).relative_to(common.ROOT).parts[0] + ")"
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C: socket I/O, psycopg waits, …)"
    return "python stdlib"


def profile_in_process(world, token: str, requests: int) -> list[str]:
    """Replay the request in-process: SQL count and time per request, cProfile by package."""
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    rng = random.Random(common_seed + 999)
    sql_time = [0.0]
    sql_count = [0]
    by_statement: dict[str, float] = defaultdict(float)

    def timer(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - t0
            sql_time[0] += spent
            sql_count[0] += 1
            by_statement[" ".join(sql.split())[:70]] += spent

    def one(n: int) -> None:
        resp = client.post("/api/v1/journal-entries/", data=entry_body(world, rng, 5_000_000 + n),
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
                           HTTP_IDEMPOTENCY_KEY=f"profile-{uuid.uuid4().hex}")
        if resp.status_code != 201:
            raise SystemExit(f"profile request failed: {resp.status_code} {resp.content[:300]!r}")

    for n in range(20):  # warm caches and connections
        one(n)
    with connection.execute_wrapper(timer):
        t0 = time.perf_counter()
        for n in range(requests):
            one(100 + n)
        total = time.perf_counter() - t0
    prof = cProfile.Profile()
    prof.enable()
    for n in range(requests):
        one(100_000 + n)
    prof.disable()
    by_pkg: dict[str, float] = defaultdict(float)
    stats = pstats.Stats(prof)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_pkg[_package(filename)] += tottime
    prof_total = sum(by_pkg.values())
    lines = [f"In-process replay of {requests} requests (no HTTP, no gunicorn): "
             f"{total / requests * 1000:.1f} ms per request, of which SQL {sql_time[0] / requests * 1000:.1f} ms "
             f"({sql_count[0] / requests:.0f} statements per request, round trips included)."]
    slow = sorted(by_statement.items(), key=lambda kv: -kv[1])[:8]
    lines.append("Slowest statements (ms per request): "
                 + "; ".join(f"`{k}…` {v / requests * 1000:.1f}" for k, v in slow) + ".")
    top = sorted(by_pkg.items(), key=lambda kv: -kv[1])[:8]
    lines.append("cProfile self-time by package: " + ", ".join(f"{k} {v / prof_total:.0%}" for k, v in top) + ".")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    ap.add_argument("--duration", type=float, default=30.0, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--profile-requests", type=int, default=200)
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--profile-only", action="store_true",
                    help="only the in-process replay (SQL per request, cProfile): for working on the path")
    args = ap.parse_args(argv)

    db = common.create_database("api", keep=args.keep_db)
    try:
        common.django_setup(db)
        from django.contrib.auth import get_user_model

        from bench.ledger.world import build_world
        from sheshi.access.services.tokens import api_token_issue
        from sheshi.db.context import system_context

        with system_context("bench"):
            world = build_world(entities=1)
            _, token = api_token_issue(user=get_user_model().objects.get(pk=world.user_id), name="bench",
                                       scopes=["write"])
        _, audit_note = common.ensure_audit(db)
        if args.profile_only:
            print("\n".join(profile_in_process(world, token, args.profile_requests)))
            return 0
        facts = common.machine(db)
        facts["gunicorn"] = f"{args.workers} sync workers"
        rep = common.Report(title="API posting (POST /api/v1/journal-entries/, post: true)",
                            command=common.command_line(), facts=facts,
                            columns=["run", "clients", "entries", "entries/s", "p50 ms", "p95 ms", "p99 ms",
                                     "vs SQL", "load 1m (start→max)"])
        log = Path("/tmp") / f"bench-ledger-gunicorn-{db.name}.log"
        with server.gunicorn(db, workers=args.workers, log=log) as port:
            print(f"[api] gunicorn on 127.0.0.1:{port}, {args.clients} clients, {args.duration:.0f} s …", flush=True)
            with common.LoadSampler() as load_api:
                api = api_load(world, token, port, args.clients, args.duration, args.warmup)
        print(f"[api] {api.rate():,.0f} entries/s, statuses {api.statuses}", flush=True)
        if api.errors:
            print("[api] errors: " + "; ".join(api.errors[:5]), flush=True)
        print(f"[sql] {args.clients} psycopg connections, {args.duration:.0f} s …", flush=True)
        with common.LoadSampler() as load_sql:
            sql = sql_baseline(db, world, args.clients, args.duration, args.warmup)
        print(f"[sql] {sql.rate():,.0f} entries/s", flush=True)
        for label, r, load in (("API via gunicorn (token, Idempotency-Key, post)", api, load_api),
                               ("raw SQL insert + post (psycopg, app role)", sql, load_sql)):
            rep.rows.append([label, str(args.clients), f"{r.ok:,}", f"{r.rate():,.0f}", f"{r.pct(50):.1f}",
                             f"{r.pct(95):.1f}", f"{r.pct(99):.1f}",
                             f"{r.rate() / sql.rate():.2f}" if sql.rate() else "—", load.summary()])
        ok = "meets" if api.rate() >= 500 else "MISSES"
        rep.notes.append(f"Goal ≥ 500 entries/s: {ok} ({api.rate():,.0f}/s). Statuses: {api.statuses}"
                         + (f"; errors: {api.errors[:2]}" if api.errors else "") + ".")
        with common.LoadSampler() as load_prof:
            rep.notes += profile_in_process(world, token, args.profile_requests)
        rep.notes.append(f"Profile load {load_prof.summary()}. " + audit_note + ".")
        with db.admin() as c:
            posted = c.execute("SELECT count(*) FROM ledger_journalentry WHERE status = 'posted'").fetchone()[0]
            diff = c.execute("""
                WITH l AS (SELECT entity_id, account_id, period_id, currency, sum(amount) a, count(*) n
                             FROM ledger_journalline GROUP BY 1, 2, 3, 4)
                SELECT count(*) FROM l FULL JOIN ledger_balance b USING (entity_id, account_id, period_id, currency)
                 WHERE l.a IS DISTINCT FROM b.amount OR l.n IS DISTINCT FROM b.line_count""").fetchone()[0]
        if diff:
            raise SystemExit(f"balances disagree with lines in {diff} rows")
        rep.notes.append(f"Afterwards: {posted:,} posted entries in the database, balances = recomputation.")
        rep.print()
        if not args.no_readme:
            common.write_readme_section("api", rep)
            print(f"\nwritten to {common.README}")
    finally:
        db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
