"""What the database does per small posting transaction, trigger by trigger.

    .venv/bin/python -m bench.ledger.small_txn --txns 2000

One connection as the application's role posts two-line entries one transaction each, in the two
shapes the application uses: ``api`` (the lines, then the entry INSERTed as posted: what
POST /journal-entries/ with post: true does) and ``workflow`` (a draft entry, its lines, then the
UPDATE to posted: the raw-SQL baseline of bench/ledger/api.py).

* wall time per transaction with every trigger on and with every user trigger of the ledger tables
  off (as the owner, on this throwaway database), interleaved over a few rounds: the difference is
  what the triggers cost, commit-time ones included (round trips and the WAL flush are in both);
* time spent in each trigger function, from pg_stat_user_functions (track_functions = all).
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from bench.ledger import common

TABLES = ("ledger_journalentry", "ledger_journalline", "ledger_line_entry_pending", "audit_pending")


def _set_triggers(db: common.BenchDb, group, enabled: bool) -> None:
    verb = "ENABLE" if enabled else "DISABLE"
    with db.owner() as c:
        if group == "ALL":
            for table in TABLES:
                c.execute(f'ALTER TABLE "{table}" {verb} TRIGGER USER')
        elif group:
            for table, name in group:
                if c.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
                             [name, table]).fetchone():
                    c.execute(f'ALTER TABLE "{table}" {verb} TRIGGER "{name}"')


def _post(cur, shape: str, w: dict, n: int) -> None:
    day = date(2026, 1, 1) + timedelta(days=n % 365)
    period = w["periods"][day.month]
    accounts = w["account_ids"]
    amount = Decimal(1 + n % 99_999) / 100
    line = {"o": w["org_id"], "e": w["entity_id"], "p": period, "d": accounts[n % len(accounts)],
            "c": accounts[(n + 1) % len(accounts)], "a": amount}
    lines_sql = """INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no,
                       account_id, currency, amount, rate, functional_amount, dimensions, memo, source_raw)
                   VALUES (%(o)s, %(e)s, %(p)s, %(j)s, 1, %(d)s, 'EUR', %(a)s, 1, %(a)s, '{}', '', ''),
                          (%(o)s, %(e)s, %(p)s, %(j)s, 2, %(c)s, 'EUR', -%(a)s, 1, -%(a)s, '{}', '', '')"""
    if shape == "api":
        cur.execute("SELECT nextval('ledger_journalentry_id_seq')")
        line["j"] = cur.fetchone()[0]
        cur.execute(lines_sql, line)
        cur.execute("""INSERT INTO ledger_journalentry (id, organisation_id, entity_id, period_id, entry_date,
                           description, source, status, created_by_id, created_at, posted_by_id, posted_at,
                           request_hash)
                       VALUES (%s, %s, %s, %s, %s, %s, 'manual', 'posted', %s, now(), %s, now(), '')""",
                    [line["j"], w["org_id"], w["entity_id"], period, day, f"txn {n}", w["user_id"], w["user_id"]])
    else:
        # Prepared by the system (as an import's draft is), posted by the user: the organisation's
        # segregation-of-duties policy refuses a user posting a draft they prepared themselves.
        cur.execute("""INSERT INTO ledger_journalentry (organisation_id, entity_id, period_id, entry_date,
                           description, source, status, created_by_id, created_at, request_hash)
                       VALUES (%s, %s, %s, %s, %s, 'manual', 'draft', NULL, now(), '') RETURNING id""",
                    [w["org_id"], w["entity_id"], period, day, f"txn {n}"])
        line["j"] = cur.fetchone()[0]
        cur.execute(lines_sql, line)
        cur.execute("UPDATE ledger_journalentry SET status = 'posted', posted_by_id = %s, posted_at = now() "
                    "WHERE id = %s", [w["user_id"], line["j"]])


def run(db: common.BenchDb, shape: str, w: dict, txns: int, start: int) -> float:
    """Milliseconds per transaction (after 200 warm-up transactions on the same connection)."""
    with psycopg.connect(db.app_url) as conn:  # not autocommit: one transaction per entry
        conn.execute("SELECT set_config('sheshi.org_ids', %s, false), set_config('sheshi.actor_id', %s, false)",
                     [str(w["org_id"]), str(w["user_id"])])
        conn.commit()
        t0 = 0.0
        for i in range(txns + 200):
            if i == 200:
                t0 = time.perf_counter()
            with conn.cursor() as cur:
                _post(cur, shape, w, start + i)
            conn.commit()
        return (time.perf_counter() - t0) * 1000 / txns


def function_times(db: common.BenchDb) -> dict[str, tuple[int, float, float]]:
    """Per function: calls, total ms, self ms, since the last reset (track_functions = all)."""
    with db.admin() as c:
        return {name: (calls, total, own) for name, calls, total, own in c.execute(
            "SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--txns", type=int, default=2000, help="measured transactions per run")
    ap.add_argument("--rounds", type=int, default=3, help="on/off rounds, interleaved (the median is reported)")
    ap.add_argument("--shapes", default="api,workflow")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--readme-key", default="small_txn")
    args = ap.parse_args(argv)
    shapes = args.shapes.split(",")
    db = common.create_database("txn")
    try:
        common.django_setup(db)
        from bench.ledger.world import build_world
        from periods.models import Period
        from sheshi.db.context import system_context

        with system_context("bench"):
            world = build_world(entities=1)
            periods = {p.start_date.month: p.pk for p in Period.objects.filter(organisation_id=world.org_id,
                                                                                 number__lte=12)}
        w = {"org_id": world.org_id, "entity_id": world.entity_ids[0], "user_id": world.user_id,
             "account_ids": world.account_ids, "periods": periods}
        common.ensure_audit(db)
        facts = common.machine(db)
        with db.admin() as c:
            c.execute(f'ALTER DATABASE "{db.name}" SET track_functions = \'all\'')
        n = 0
        # 1. Wall time per transaction, every trigger on vs every user trigger off, interleaved.
        walls: dict[tuple[str, str], list[float]] = {}
        with common.LoadSampler() as load:
            for _ in range(args.rounds):
                for label, group in (("on", None), ("off", "ALL")):
                    _set_triggers(db, group, enabled=False)
                    try:
                        for shape in shapes:
                            walls.setdefault((shape, label), []).append(run(db, shape, w, args.txns, n))
                            n += args.txns + 200
                    finally:
                        _set_triggers(db, group, enabled=True)
        # 2. Time inside each trigger function, every trigger on.
        per_fn: dict[str, dict[str, tuple[int, float, float]]] = {}
        for shape in shapes:
            with db.admin() as c:
                c.execute("SELECT pg_stat_reset()")
            run(db, shape, w, args.txns, n)
            n += args.txns + 200
            time.sleep(1.5)  # a backend's function statistics reach the shared view within a second of exit
            per_fn[shape] = {k: v for k, v in function_times(db).items() if v[0]}
        med = {k: sorted(v)[len(v) // 2] for k, v in walls.items()}
        rep = common.Report(title="Database work per small posting transaction (one connection, two-line entry)",
                            command=common.command_line(), facts=facts,
                            columns=["function (trigger) or run", *[f"{s}: calls/txn" for s in shapes],
                                     *[f"{s}: ms/txn (self)" for s in shapes]])
        for label in ("on", "off"):
            rep.rows.append([f"wall time, every trigger {label}" if label == "on" else "wall time, user triggers off",
                             *["—" for _ in shapes], *[f"{med[(s, label)]:.2f}" for s in shapes]])
        names = sorted({f for s in shapes for f in per_fn[s]},
                       key=lambda f: -max(per_fn[s].get(f, (0, 0, 0))[1] for s in shapes))
        for name in names:
            # per warm-up and measured transaction alike: the statistics cover the whole run
            per = args.txns + 200
            stats = [per_fn[s].get(name, (0, 0.0, 0.0)) for s in shapes]
            rep.rows.append([name, *[f"{calls / per:.1f}" for calls, _, _ in stats],
                             *[f"{total / per:.3f} ({own / per:.3f})" for _, total, own in stats]])
        rep.notes.append(f"Wall time: median of {args.rounds} interleaved runs of {args.txns:,} transactions, load "
                         f"{load.summary()}; the difference on − off is what all triggers cost per transaction, "
                         "commit-time ones included.")
        rep.notes.append("Per function: pg_stat_user_functions (track_functions = all) over one run with every "
                         "trigger on; total includes the functions it calls, self excludes them. Shapes: 'api' = "
                         "lines, then the entry INSERTed as posted (POST /journal-entries/ with post: true); "
                         "'workflow' = draft entry, lines, UPDATE to posted (bench/ledger/api.py's SQL baseline).")
        rep.print()
        if not args.no_readme:
            common.write_readme_section(args.readme_key, rep)
    finally:
        db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
