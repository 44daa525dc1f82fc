"""Bulk posting benchmark: ledger.services.bulk.journal_entries_post_bulk at scale, beside a plain COPY.

    .venv/bin/python -m bench.ledger.bulk --lines 1000000            # the real run (~10 min)
    .venv/bin/python -m bench.ledger.bulk --lines 2000 --no-readme   # smoke

Runs, each in a fresh child process (so peak RSS is that run's alone) against the same
throwaway database, emptied and analysed between runs:

* ``copy``      baseline: COPY of the same line rows into an unconstrained table of the same shape
                (no indexes, constraints or triggers), as the application's role;
* ``copy_indexed`` for reading only: the same COPY into a table with ledger_journalline's indexes
                and check constraints (no triggers, no foreign keys) → what the table's shape costs;
* ``full``      the bulk path as the application's role with the organisation scope set (RLS on),
                every check, balance maintenance, history and audit on;
* ``no_audit``  the same with the audit triggers on the ledger tables disabled (owner:
                ALTER TABLE … DISABLE TRIGGER, audit triggers only) → the audit cost;
* ``owner``     the same as the schema owner, to whom RLS does not apply → the RLS cost;
* ``full_small`` the full run at --rss-lines (default 200k) → memory must stay flat;
* ``after_small`` the full run in a session that first posted one entry: PL/pgSQL keeps each
                trigger query's plan for the session, made for the first statement's transition
                table size, so this is what a long-lived worker's big batch gets.

If no audit trigger is attached to the ledger tables yet, the bench attaches the audit app's
triggers (audit.operations.attach_audit_sql) to ledger_journalentry and ledger_journalline in its
throwaway database and says so.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from bench.ledger import common

VARIANTS = ("copy", "copy_indexed", "full", "no_audit", "owner", "full_small", "after_small")
COPY_VARIANTS = {"copy": "bench_copy_lines", "copy_indexed": "bench_copy_lines_indexed"}


# ---------------------------------------------------------------------------------------------
# Worker: one measured run in its own process


def _statement_timer():
    """Time the posting INSERT … SELECT (fires the posting trigger) and the history INSERT,
    by wrapping psycopg's cursor execute in this worker process only."""
    import psycopg

    spent = {"lines_insert": 0.0, "post_insert": 0.0, "history_insert": 0.0}
    original = psycopg.Cursor.execute

    def execute(self, query, params=None, **kw):
        text = query if isinstance(query, str) else ""
        key = ("post_insert" if "INSERT INTO ledger_journalentry" in text
               else "lines_insert" if "INSERT INTO ledger_journalline" in text
               else "history_insert" if "sheshi_history_record('ledger_historicaljournalentry'" in text else None)
        t0 = time.perf_counter()
        try:
            return original(self, query, params, **kw)
        finally:
            if key:
                spent[key] += time.perf_counter() - t0

    psycopg.Cursor.execute = execute
    return spent


def _worker_copy(world: dict, n_entries: int, table: str) -> dict:
    """Baseline: the same rows as the bulk path writes, COPY'd into ``table``."""
    import psycopg

    from bench.ledger.world import two_line_amounts

    accounts = world["account_ids"]
    t0 = time.perf_counter()
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT set_config('sheshi.org_ids', %s, false)", [str(world["org_id"])])
        line_id = 0
        cols = ("id, organisation_id, entity_id, period_id, entry_id, line_no, account_id, currency, amount, rate, "
                "functional_amount, counterparty_id, dimensions, memo, import_batch_id, source_row, source_raw")
        period_of = {p["month"]: p["id"] for p in world["periods"]}
        with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for entry_id, (day, d, c, amount) in enumerate(two_line_amounts(n_entries, len(accounts)), start=1):
                period_id = period_of[day.month]
                for no, (acc, amt) in enumerate(((accounts[d], amount), (accounts[c], -amount)), start=1):
                    line_id += 1
                    copy.write_row((line_id, world["org_id"], world["entity_id"], period_id, entry_id, no, acc, "EUR",
                                    amt, 1, amt, None, "{}", "", None, None, ""))
        conn.commit()
    return {"seconds": time.perf_counter() - t0, "lines": line_id, "entries": n_entries}


def _worker_post(world: dict, n_entries: int, warm_small: bool = False) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from bench.ledger.world import World, entry_inputs
    from ledger.services.bulk import journal_entries_post_bulk
    from sheshi.db.context import db_context
    from sheshi.tenancy.models import Entity

    w = World(org_id=world["org_id"], entity_ids=[world["entity_id"]], entity_codes=[], user_id=world["user_id"],
              account_ids=world["account_ids"], account_codes=[], username="")
    spent = _statement_timer()
    with db_context(org_ids=[w.org_id], actor_id=w.user_id, actor_label="bench:bulk"):
        user = get_user_model().objects.get(pk=w.user_id)
        entity = Entity.objects.get(pk=world["entity_id"])
        if warm_small:  # a one-entry posting first: its trigger plans are what this session keeps
            with transaction.atomic():
                journal_entries_post_bulk(actor=user, entity=entity, entries=entry_inputs(w, 1, seed=7),
                                          source="import")
            n_entries -= 1
            spent.update(dict.fromkeys(spent, 0.0))
        t0 = time.perf_counter()
        with transaction.atomic():
            result = journal_entries_post_bulk(actor=user, entity=entity, entries=entry_inputs(w, n_entries),
                                               source="import")
            t_body = time.perf_counter()
        t1 = time.perf_counter()
    return {"seconds": t1 - t0, "lines": result.lines + 2 * warm_small, "entries": result.entries + warm_small,
            "commit": t1 - t_body,
            **spent}


def worker(variant: str, n_entries: int) -> None:
    world = json.loads(os.environ["BENCH_WORLD"])
    profile = os.environ.get("BENCH_PROFILE")
    if profile and variant not in COPY_VARIANTS:
        import cProfile

        prof = cProfile.Profile()
        out = prof.runcall(_worker_post, world, n_entries, variant == "after_small")
        prof.dump_stats(f"{profile}.{variant}.prof")
    else:
        out = (_worker_copy(world, n_entries, COPY_VARIANTS[variant]) if variant in COPY_VARIANTS
               else _worker_post(world, n_entries, variant == "after_small"))
    out["peak_rss_mib"] = common.peak_rss_mib()
    print("RESULT " + json.dumps(out), flush=True)


# ---------------------------------------------------------------------------------------------
# Orchestrator


def reset(db: common.BenchDb) -> None:
    """Empty the ledger tables (superuser, user triggers off) and start every run alike."""
    with db.admin() as c:
        c.execute("SET session_replication_role = replica")
        c.execute("TRUNCATE ledger_journalline, ledger_journalentry, ledger_journalentryattachment, "
                  "ledger_journalentrycomment, ledger_balance, ledger_historicaljournalentry, "
                  "bench_copy_lines, bench_copy_lines_indexed")
        c.execute("RESET session_replication_role")
        c.execute("ANALYZE ledger_journalline, ledger_journalentry, ledger_balance, ledger_historicaljournalentry")
        c.execute("CHECKPOINT")


def run_child(db: common.BenchDb, variant: str, n_entries: int, world: dict,
              profile: str | None = None) -> tuple[dict, common.LoadSampler]:
    env = dict(os.environ, **common.point_django_at(db), BENCH_WORLD=json.dumps(world))
    if profile:
        env["BENCH_PROFILE"] = profile
    if variant == "owner":
        env["DATABASE_URL"] = db.owner_url
    with common.LoadSampler() as load:
        proc = subprocess.run([sys.executable, "-m", "bench.ledger.bulk", "--worker", variant,
                               "--entries", str(n_entries)], env=env, cwd=common.ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} run failed:\n{proc.stdout}\n{proc.stderr}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[7:]), load


def verify(db: common.BenchDb, n_lines: int) -> str:
    """The run must have left balances equal to a recomputation and every line posted."""
    with db.admin() as c:
        lines = c.execute("SELECT count(*) FROM ledger_journalline").fetchone()[0]
        posted = c.execute("SELECT count(*) FROM ledger_journalentry WHERE status = 'posted'").fetchone()[0]
        diff = c.execute("""
            WITH l AS (SELECT entity_id, account_id, period_id, currency, sum(amount) a, count(*) n
                         FROM ledger_journalline GROUP BY 1, 2, 3, 4)
            SELECT count(*) FROM l FULL JOIN ledger_balance b USING (entity_id, account_id, period_id, currency)
             WHERE l.a IS DISTINCT FROM b.amount OR l.n IS DISTINCT FROM b.line_count""").fetchone()[0]
        events = c.execute("SELECT count(*) FROM audit_event").fetchone()[0]
    if lines != n_lines or diff != 0:
        raise SystemExit(f"verification failed: {lines} lines (expected {n_lines}), {diff} balance differences")
    return f"{lines} lines, {posted} posted entries, balances = recomputation, {events} audit events so far"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines per run (two-line entries)")
    ap.add_argument("--rss-lines", type=int, default=200_000, help="size of the small run for the memory comparison")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"subset of {','.join(VARIANTS)}")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--profile", metavar="PREFIX", help="cProfile each bulk run into PREFIX.<variant>.prof")
    ap.add_argument("--auto-explain-ms", type=int, metavar="MS",
                    help="log plans (ANALYZE, BUFFERS, nested statements) of statements over MS to the server log")
    ap.add_argument("--no-readme", action="store_true", help="print only; do not write bench/ledger/README.md")
    ap.add_argument("--readme-key", default="bulk", help="README section to (re)write")
    ap.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    ap.add_argument("--entries", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.entries)
        return 0

    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        ap.error(f"unknown variants: {unknown}")
    db = common.create_database("bulk", keep=args.keep_db)
    try:
        if args.auto_explain_ms is not None:
            with db.admin() as c:
                for key, value in (("session_preload_libraries", "auto_explain"),
                                   ("auto_explain.log_min_duration", f"{args.auto_explain_ms}ms"),
                                   ("auto_explain.log_analyze", "on"), ("auto_explain.log_buffers", "on"),
                                   ("auto_explain.log_nested_statements", "on")):
                    c.execute(f'ALTER DATABASE "{db.name}" SET {key} = \'{value}\'')
        common.django_setup(db)
        from sheshi.db.context import system_context

        with system_context("bench"):
            from bench.ledger.world import build_world
            from periods.models import Period

            w = build_world(entities=1)
            periods = [{"id": p.pk, "month": p.start_date.month}
                       for p in Period.objects.filter(organisation_id=w.org_id, number__lte=12)]
        world = {"org_id": w.org_id, "entity_id": w.entity_ids[0], "user_id": w.user_id,
                 "account_ids": w.account_ids, "periods": periods}
        with db.owner() as c:
            c.execute("CREATE TABLE bench_copy_lines (LIKE ledger_journalline)")
            c.execute("CREATE TABLE bench_copy_lines_indexed (LIKE ledger_journalline INCLUDING ALL)")
            c.execute(f'GRANT SELECT, INSERT ON bench_copy_lines, bench_copy_lines_indexed TO "{db.app_role}"')
        triggers, audit_note = common.ensure_audit(db)
        facts = common.machine(db)
        results: dict[str, dict] = {}
        for variant in variants:
            n_lines = args.rss_lines if variant == "full_small" else args.lines
            reset(db)
            if variant == "no_audit":
                common.set_audit(db, triggers, enabled=False)
            try:
                print(f"[{variant}] {n_lines:,} lines …", flush=True)
                out, load = run_child(db, variant, n_lines // 2, world, args.profile)
            finally:
                if variant == "no_audit":
                    common.set_audit(db, triggers, enabled=True)
            out["load"] = load.summary()
            out["rate"] = out["lines"] / out["seconds"]
            if variant not in COPY_VARIANTS:
                out["verified"] = verify(db, out["lines"])
            results[variant] = out
            print(f"[{variant}] {out['rate']:,.0f} lines/s in {out['seconds']:.1f} s, "
                  f"peak RSS {out['peak_rss_mib']:.0f} MiB, load {out['load']}", flush=True)
        report = build_report(results, facts, audit_note, triggers)
        report.print()
        if not args.no_readme:
            common.write_readme_section(args.readme_key, report)
            print(f"\nwritten to {common.README}")
    finally:
        db.drop()
    return 0


def build_report(results: dict[str, dict], facts: dict, audit_note: str, triggers) -> common.Report:
    rep = common.Report(
        title="Bulk posting (ledger.services.bulk.journal_entries_post_bulk)", command=common.command_line(),
        columns=["run", "lines", "seconds", "lines/s", "vs COPY", "lines INSERT s", "post INSERT s",
                 "history INSERT s", "commit s", "peak RSS MiB", "load 1m (start→max)"], facts=facts)
    copy_rate = results.get("copy", {}).get("rate")
    labels = {"copy": "COPY baseline (unconstrained table, app role)",
              "copy_indexed": "COPY into a table with the line indexes + checks",
              "full": "bulk path, app role + RLS scope, audit on",
              "no_audit": "bulk path, audit triggers disabled",
              "owner": "bulk path as owner (no RLS), audit on",
              "full_small": "bulk path, app role + RLS, audit on (small)",
              "after_small": "bulk path, same session after a one-entry posting"}
    for v, r in results.items():
        rep.rows.append([labels[v], f"{r['lines']:,}", f"{r['seconds']:.1f}", f"{r['rate']:,.0f}",
                         f"{r['rate'] / copy_rate:.2f}" if copy_rate else "—",
                         f"{r.get('lines_insert', 0):.1f}" if v not in COPY_VARIANTS else "—",
                         f"{r.get('post_insert', 0):.1f}" if v not in COPY_VARIANTS else "—",
                         f"{r.get('history_insert', 0):.1f}" if v not in COPY_VARIANTS else "—",
                         f"{r.get('commit', 0):.1f}" if v not in COPY_VARIANTS else "—",
                         f"{r['peak_rss_mib']:.0f}", r["load"]])
    full = results.get("full")
    if full and copy_rate:
        ok = "meets" if full["rate"] / copy_rate >= 0.5 else "MISSES"
        rep.notes.append(f"Bulk/COPY ratio {full['rate'] / copy_rate:.2f} ({ok} the goal ≥ 0.5).")
    if full and "no_audit" in results:
        cost = results["no_audit"]["rate"] / full["rate"] - 1
        ok = "meets" if cost < 0.25 else "MISSES"
        rep.notes.append(f"Audit cost: {cost:.1%} more time with audit on (lines/s without ÷ with − 1; "
                         f"{ok} the goal < 25%).")
    if full and "owner" in results:
        cost = results["owner"]["rate"] / full["rate"] - 1
        rep.notes.append(f"RLS cost: {cost:.1%} more time as the app role with RLS than as the owner.")
    if full and "full_small" in results:
        rep.notes.append(f"Peak RSS {results['full_small']['peak_rss_mib']:.0f} MiB at "
                         f"{results['full_small']['lines']:,} lines vs {full['peak_rss_mib']:.0f} MiB at "
                         f"{full['lines']:,} lines.")
    rep.notes.append(audit_note + ": " + ", ".join(f"{t}.{n}" for t, n in triggers) + ".")
    for v, r in results.items():
        if "verified" in r:
            rep.notes.append(f"{v}: {r['verified']}.")
    rep.notes.append("'lines INSERT s': the INSERT … SELECT from the staging table into ledger_journalline (4 indexes, "
                     "RLS check, lines guard: account and entry references, and audit capture); 'post INSERT s': the "
                     "INSERT … SELECT of the entries as posted, which fires the posting trigger (checks + balances), "
                     "the entry reference checks and the audit capture; 'history INSERT s': the simple-history rows; "
                     "'commit s': what runs at commit (the audit seal; the line→entry checks the entries' INSERT did "
                     "not clear); the rest is Python (building the inputs included), validation and COPY into the "
                     "staging tables.")
    return rep


if __name__ == "__main__":
    sys.exit(main())
