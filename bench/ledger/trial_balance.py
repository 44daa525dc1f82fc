"""Trial balance benchmark: one entity-year with --lines posted lines in the database.

    .venv/bin/python -m bench.ledger.trial_balance --lines 10000000          # the real run
    .venv/bin/python -m bench.ledger.trial_balance --lines 20000 --no-readme  # smoke

Data: --lines posted lines (entries of --lines-per-entry lines, one in five entries a USD/EUR
pair) for one entity over FY2026, on a chart of 500 posting accounts. The lines are generated in
SQL, in batches of --batch lines per transaction, and each batch's entries are inserted as posted
in one INSERT … SELECT so the real posting trigger checks them and maintains ledger_balance: the
balances are the trigger's own. To keep generation within minutes the set-up runs as the
cluster's superuser with session_replication_role=replica and the posting trigger set to ENABLE
ALWAYS (so it alone fires: no per-row foreign-key triggers, no audit capture), and with the
secondary line indexes dropped and rebuilt afterwards; the keys it writes are valid by
construction and are checked with anti-joins at the end, and balances are compared with a
recomputation from the lines. The schema is restored exactly before anything is measured.

Measured (p50/p95 over --repeat calls, warm):
* service: ledger.selectors.reports.trial_balance(entity, period=2026-12) as the app role with the
  organisation scope (RLS on), rolled up by the account tree;
* the admin page's table: ledger.selectors.report_tables.trial_balance_table (opening, December's movement,
  closing and a prior-period comparison, rolled up in the same SQL statement);
* API: GET /api/v1/reports/trial-balance/?entity=…&period=2026-12 through gunicorn, bearer token;
* baseline: the bare SQL aggregate over ledger_balance for the entity-year (psycopg, app role);
* for scale, once: the same aggregate computed from the lines instead of the balances.
"""
from __future__ import annotations

import argparse
import http.client
import sys
import time
from pathlib import Path

from bench.ledger import common, server

LINE_INDEXES_KEPT = ("ledger_journalline_pkey", "line_entry_line_no")  # the posting trigger reads lines by entry


def generate(db: common.BenchDb, world, *, lines: int, per_entry: int, batch: int) -> dict:
    """Posted lines and trigger-maintained balances, fast (see the module docstring)."""
    per_entry = max(2, per_entry - per_entry % 2)
    n_entries = lines // per_entry
    per_batch = max(1, batch // per_entry)
    t0 = time.perf_counter()
    with db.admin() as c:
        dropped = c.execute("""
            SELECT i.indexname, i.indexdef FROM pg_indexes i
             WHERE i.tablename = 'ledger_journalline' AND i.indexname <> ALL(%s)""",
                            [list(LINE_INDEXES_KEPT)]).fetchall()
        for name, _ in dropped:
            c.execute(f'DROP INDEX "{name}"')
        c.execute("ALTER TABLE ledger_journalentry ENABLE ALWAYS TRIGGER ledger_entries_posted_insert")
        try:
            done = 0
            while done < n_entries:
                # A small first batch: the trigger's plans need statistics that say the tables are
                # not empty (a large batch planned on empty-table statistics runs 10× slower).
                n = min(per_batch if done else max(1, 20_000 // per_entry), n_entries - done)
                with c.transaction():
                    c.execute("SET LOCAL session_replication_role = replica")
                    t_l, t_e = _batch(c, world, first=done, n=n, total=n_entries, per_entry=per_entry)
                done += n
                # Fresh statistics for the next batch's trigger plans (autovacuum would lag behind).
                c.execute("ANALYZE ledger_journalline, ledger_journalentry, ledger_balance")
                rate = done * per_entry / (time.perf_counter() - t0)
                print(f"  generated {done * per_entry:,} lines ({rate:,.0f} lines/s; this batch: lines {t_l:.1f} s, "
                      f"entries + posting trigger {t_e:.1f} s; load {common.loadavg():.1f})", flush=True)
        finally:
            c.execute("ALTER TABLE ledger_journalentry ENABLE TRIGGER ledger_entries_posted_insert")
        t_lines = time.perf_counter() - t0
        c.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in dropped:
            c.execute(definition)
        c.execute("VACUUM ANALYZE ledger_journalline")
        c.execute("VACUUM ANALYZE ledger_journalentry")
        c.execute("VACUUM ANALYZE ledger_balance")
        t_total = time.perf_counter() - t0
        checks = verify(c)
    return {"lines": n_entries * per_entry, "entries": n_entries, "seconds_lines": t_lines, "seconds": t_total,
            "checks": checks}


def _batch(c, world, *, first: int, n: int, total: int, per_entry: int) -> tuple[float, float]:
    """One transaction's worth; returns (seconds inserting lines, seconds inserting entries + trigger)."""
    c.execute("""
        CREATE TEMP TABLE gen_e ON COMMIT DROP AS
        SELECT nextval('ledger_journalentry_id_seq') AS id, g,
               date '2026-01-01' + ((g * 365) / %(total)s::bigint)::int AS d
          FROM generate_series(%(first)s::bigint, %(last)s::bigint) g""",
              {"first": first, "last": first + n - 1, "total": total})
    t0 = time.perf_counter()
    # Pairs of lines: +a on one account, −a on another; every fifth entry's first pair is USD
    # (rate 0.9) against EUR. Accounts and amounts are a deterministic hash of (entry, pair).
    c.execute("""
        INSERT INTO ledger_journalline (id, organisation_id, entity_id, period_id, entry_id, line_no, account_id,
                                        currency, amount, rate, functional_amount, dimensions, memo, source_raw)
        SELECT nextval('ledger_journalline_id_seq'), %(org)s, %(entity)s, p.id, e.id, 2 * k + side,
               (%(accs)s::bigint[])[1 + CASE side WHEN 1 THEN x ELSE (x + 1 + (e.g * 31 + k) %% (%(n_acc)s::int - 1))
                                                  %% %(n_acc)s END],
               CASE WHEN usd AND side = 1 THEN 'USD' ELSE 'EUR' END,
               CASE WHEN usd AND side = 1 THEN a ELSE (CASE side WHEN 1 THEN f ELSE -f END) END,
               CASE WHEN usd AND side = 1 THEN 0.9 ELSE 1 END,
               CASE side WHEN 1 THEN f ELSE -f END, '{}', '', ''
          FROM gen_e e
          JOIN periods_period p ON p.organisation_id = %(org)s AND p.number <= 12
                               AND e.d BETWEEN p.start_date AND p.end_date
          CROSS JOIN generate_series(0, %(pairs)s::int - 1) k
          CROSS JOIN LATERAL (SELECT ((e.g * 7919 + k * 104729) %% %(n_acc)s) AS x,
                                     (e.g %% 5 = 0 AND k = 0) AS usd,
                                     ((e.g * 7919 + k * 15485863) %% 10000000 + 1) / 100.0 AS a) r
          CROSS JOIN LATERAL (SELECT CASE WHEN usd THEN round(a * 0.9, 4) ELSE a END AS f) fa
          CROSS JOIN generate_series(1, 2) side
         ORDER BY e.id, k, side""",
              {"org": world.org_id, "entity": world.entity_ids[0], "accs": world.account_ids,
               "n_acc": len(world.account_ids), "pairs": per_entry // 2})
    t1 = time.perf_counter()
    c.execute("""
        INSERT INTO ledger_journalentry (id, organisation_id, entity_id, period_id, entry_date, description, source,
                                         status, created_by_id, created_at, posted_by_id, posted_at, request_hash)
        SELECT e.id, %(org)s, %(entity)s, p.id, e.d, 'TB bench entry ' || e.g, 'import', 'posted',
               %(user)s, now(), %(user)s, now(), ''
          FROM gen_e e
          JOIN periods_period p ON p.organisation_id = %(org)s AND p.number <= 12
                               AND e.d BETWEEN p.start_date AND p.end_date
         ORDER BY e.id""", {"org": world.org_id, "entity": world.entity_ids[0], "user": world.user_id})
    return t1 - t0, time.perf_counter() - t1


def verify(c) -> str:
    orphans = c.execute("""
        SELECT (SELECT count(*) FROM ledger_journalline l WHERE NOT EXISTS
                  (SELECT 1 FROM ledger_journalentry e WHERE e.id = l.entry_id))
             + (SELECT count(*) FROM ledger_journalline l WHERE NOT EXISTS
                  (SELECT 1 FROM ledger_account a WHERE a.id = l.account_id))""").fetchone()[0]
    diff = c.execute("""
        WITH l AS (SELECT entity_id, account_id, period_id, currency, sum(amount) a,
                          sum(greatest(functional_amount, 0)) d, sum(greatest(-functional_amount, 0)) cr, count(*) n
                     FROM ledger_journalline GROUP BY 1, 2, 3, 4)
        SELECT count(*) FROM l FULL JOIN ledger_balance b USING (entity_id, account_id, period_id, currency)
         WHERE l.a IS DISTINCT FROM b.amount OR l.n IS DISTINCT FROM b.line_count
            OR l.d IS DISTINCT FROM b.functional_debit OR l.cr IS DISTINCT FROM b.functional_credit""").fetchone()[0]
    n_bal = c.execute("SELECT count(*) FROM ledger_balance").fetchone()[0]
    if orphans or diff:
        raise SystemExit(f"generated data invalid: {orphans} orphan keys, {diff} balance differences")
    return f"no orphan keys; {n_bal:,} balance rows, all equal to a recomputation from the lines"


BASELINE_SQL = """
SELECT b.account_id, sum(b.functional_debit), sum(b.functional_credit)
  FROM ledger_balance b JOIN periods_period p ON p.id = b.period_id
 WHERE b.entity_id = %(entity)s AND p.fiscal_year_id = %(fy)s
 GROUP BY b.account_id"""

LINES_SQL = """
SELECT l.account_id, sum(greatest(l.functional_amount, 0)), sum(greatest(-l.functional_amount, 0))
  FROM ledger_journalline l JOIN periods_period p ON p.id = l.period_id
 WHERE l.entity_id = %(entity)s AND p.fiscal_year_id = %(fy)s
 GROUP BY l.account_id"""


def time_calls(fn, repeat: int, warm: int = 3) -> list[float]:
    for _ in range(warm):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--lines-per-entry", type=int, default=10)
    ap.add_argument("--batch", type=int, default=500_000, help="lines per generating transaction")
    ap.add_argument("--accounts", type=int, default=500, help="posting accounts in the chart")
    ap.add_argument("--repeat", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args(argv)

    db = common.create_database("tb", keep=args.keep_db)
    try:
        common.django_setup(db)
        from django.contrib.auth import get_user_model

        from bench.ledger.world import build_world
        from ledger.selectors import reports
        from periods.models import Period
        from sheshi.access.services.tokens import api_token_issue
        from sheshi.db.context import db_context, system_context
        from sheshi.tenancy.models import Entity

        with system_context("bench"):
            world = build_world(entities=1, posting_per_group=args.accounts // 5)
            _, token = api_token_issue(user=get_user_model().objects.get(pk=world.user_id), name="bench",
                                       scopes=["read"])
        facts = common.machine(db)
        print(f"[gen] {args.lines:,} lines …", flush=True)
        with common.LoadSampler() as load_gen:
            gen = generate(db, world, lines=args.lines, per_entry=args.lines_per_entry, batch=args.batch)
        print(f"[gen] {gen['lines']:,} lines in {gen['seconds']:.0f} s; {gen['checks']}", flush=True)

        with db_context(org_ids=[world.org_id], actor_id=world.user_id, actor_label="bench:tb"):
            entity = Entity.objects.get(pk=world.entity_ids[0])
            period = Period.objects.select_related("fiscal_year").get(organisation_id=world.org_id, code="2026-12")
            tb = reports.trial_balance(entity=entity, period=period)
            if not tb.reconciles:
                raise SystemExit("the trial balance does not reconcile")
            with common.LoadSampler() as load_svc:
                svc = time_calls(lambda: reports.trial_balance(entity=entity, period=period), args.repeat)
            # The admin page's table: opening, December's movement, closing, and a prior-period column.
            from ledger.selectors.report_tables import Window, trial_balance_table

            nov = Period.objects.select_related("fiscal_year").get(organisation_id=world.org_id, code="2026-11")
            dec = Window(period, period)

            def page_table():
                return trial_balance_table(entity=entity, window=dec, comparisons=[("prior", Window(nov, nov))])

            if {r.code: r.closing for r in page_table().rows} != {r.code: r.net for r in tb.rows}:
                raise SystemExit("the page's closing column disagrees with reports.trial_balance")
            with common.LoadSampler() as load_page:
                page = time_calls(page_table, args.repeat)
        params = {"entity": entity.pk, "fy": period.fiscal_year_id}
        with db.app() as c:
            c.execute("SELECT set_config('sheshi.org_ids', %s, false)", [str(world.org_id)])
            with common.LoadSampler() as load_sql:
                sql = time_calls(lambda: c.execute(BASELINE_SQL, params).fetchall(), args.repeat)
            base_rows = c.execute(BASELINE_SQL, params).fetchall()
            t0 = time.perf_counter()
            line_rows = c.execute(LINES_SQL, params).fetchall()
            t_lines = time.perf_counter() - t0
        if sorted(base_rows) != sorted(line_rows):
            raise SystemExit("balances and lines disagree for the entity-year")

        log = Path("/tmp") / f"bench-ledger-gunicorn-{db.name}.log"
        path = f"/api/v1/reports/trial-balance/?entity={entity.code}&period=2026-12"
        with server.gunicorn(db, workers=args.workers, log=log) as port:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

            def get():
                conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    raise SystemExit(f"API trial balance failed: {resp.status} {body[:300]!r}")

            with common.LoadSampler() as load_api:
                api = time_calls(get, args.repeat)
            conn.close()

        rep = common.Report(title=f"Trial balance, one entity-year, {gen['lines']:,} lines in the database",
                            command=common.command_line(), facts=facts,
                            columns=["read", "calls", "p50 ms", "p95 ms", "vs SQL (p50)", "load 1m (start→max)"])
        base_p50 = common.percentile(sql, 50)
        for label, xs, load in (("service: reports.trial_balance (app role, RLS)", svc, load_svc),
                                ("admin page table: report_tables.trial_balance_table, 1 comparison", page, load_page),
                                ("API: GET /api/v1/reports/trial-balance/ (gunicorn)", api, load_api),
                                ("bare SQL aggregate over ledger_balance", sql, load_sql)):
            rep.rows.append([label, str(len(xs)), f"{common.percentile(xs, 50) * 1000:.1f}",
                             f"{common.percentile(xs, 95) * 1000:.1f}",
                             f"{common.percentile(xs, 50) / base_p50:.1f}×", load.summary()])
        rep.rows.append(["(for scale) same aggregate over the lines, once", "1", f"{t_lines * 1000:.0f}", "—",
                         f"{t_lines / base_p50:.0f}×", "—"])
        p50 = common.percentile(svc, 50) * 1000
        rep.notes.append(f"Goal p50 < 50 ms through the service: {'meets' if p50 < 50 else 'MISSES'} ({p50:.1f} ms); "
                         f"API p50 {common.percentile(api, 50) * 1000:.1f} ms.")
        rep.notes.append(f"Data: {gen['lines']:,} posted lines in {gen['entries']:,} entries ({args.lines_per_entry} "
                         f"lines each), {len(world.account_ids)} posting accounts, 12 periods, EUR + USD; "
                         f"{gen['checks']}. The trial balance has {len(tb.rows)} rows and reconciles.")
        rep.notes.append(f"Generation: {gen['seconds']:.0f} s in all ({gen['seconds_lines']:.0f} s lines and posting "
                         f"trigger at {gen['lines'] / gen['seconds_lines']:,.0f} lines/s, then index rebuild and "
                         f"VACUUM ANALYZE), load {load_gen.summary()}.")
        rep.print()
        if not args.no_readme:
            common.write_readme_section("trial_balance", rep)
            print(f"\nwritten to {common.README}")
    finally:
        db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
