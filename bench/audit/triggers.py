"""Audit trigger cost: the same writes into an audited and an unaudited table of the same shape.

    .venv/bin/python -m bench.audit.triggers --rows 100000 --repeat 3

Runs in a throwaway migrated database (bench.ledger.common), as the application's role with an
actor set. Both tables have a journal-line-like shape, a primary key and one index; only
``bench_audited`` carries the audit triggers (audit.operations.attach_audit_sql). Scenarios:

* ``insert_select``  one INSERT … SELECT of --rows rows of one organisation (the summary path: one
                     event + digest);
* ``copy_chunks``    COPY of --rows rows in 5,000-row statements, one transaction (one summary each);
* ``small_txns``     --txns transactions of one INSERT and one UPDATE each, alternating between two
                     organisations (per-row events, one seal per transaction) — the interactive path.

Each scenario runs --repeat times per table, alternating, and reports the median.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

SHAPE = """(
  id bigserial PRIMARY KEY, organisation_id bigint NOT NULL, entity_id bigint NOT NULL, account_id bigint NOT NULL,
  period_id bigint NOT NULL, currency varchar(3) NOT NULL, amount numeric(20,4) NOT NULL,
  functional_amount numeric(20,4) NOT NULL, memo varchar(500) NOT NULL DEFAULT '',
  dimensions jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now())"""
TABLES = ("bench_plain", "bench_audited")
CHUNK = 5000


def _setup(db) -> None:
    from audit.operations import attach_audit_sql

    with db.owner() as c:
        for t in TABLES:
            c.execute(f"CREATE TABLE {t} {SHAPE}")
            c.execute(f"CREATE INDEX ON {t} (organisation_id, account_id)")
            c.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO "{db.app_role}"')
            c.execute(f'GRANT USAGE ON SEQUENCE {t}_id_seq TO "{db.app_role}"')
        c.execute(attach_audit_sql("bench_audited", object_type="bench.audited")[0])


def _reset(db) -> None:
    with db.owner() as c:
        for t in TABLES:
            c.execute(f"ALTER TABLE {t} DISABLE TRIGGER USER")
            c.execute(f"TRUNCATE {t}")
            c.execute(f"ALTER TABLE {t} ENABLE TRIGGER USER")
            c.execute(f"VACUUM ANALYZE {t}")


def _app(db):
    conn = db.jobs()  # a system bulk writer: the all-organisations scope is the jobs role's
    conn.execute("SELECT set_config('sheshi.org_ids', '*', false), set_config('sheshi.actor_label', 'system:bench', "
                 "false)")
    return conn


def _insert_select(conn, table: str, rows: int) -> None:
    with conn.transaction():
        conn.execute(f"INSERT INTO {table} (organisation_id, entity_id, account_id, period_id, currency, amount,"
                     f" functional_amount, memo) SELECT 1, 10, 100 + g %% 50, 7, 'EUR', g * 1.25, g * 1.25,"
                     f" 'line ' || g FROM generate_series(1, %s) g", [rows])


def _copy_chunks(conn, table: str, rows: int) -> None:
    with conn.transaction():
        done = 0
        while done < rows:
            n = min(CHUNK, rows - done)
            with conn.cursor().copy(f"COPY {table} (organisation_id, entity_id, account_id, period_id, currency,"
                                    " amount, functional_amount, memo) FROM STDIN") as copy:
                for g in range(done, done + n):
                    copy.write_row((1, 10, 100 + g % 50, 7, "EUR", f"{g * 1.25:.2f}", f"{g * 1.25:.2f}",
                                    f"line {g}"))
            done += n


def _small_txns(conn, table: str, txns: int) -> None:
    for g in range(txns):
        with conn.transaction():
            row_id = conn.execute(f"INSERT INTO {table} (organisation_id, entity_id, account_id, period_id, currency,"
                                  " amount, functional_amount) VALUES (%s, 10, 100, 7, 'EUR', 1, 1) RETURNING id",
                                  [1 + g % 2]).fetchone()[0]
            conn.execute(f"UPDATE {table} SET amount = 2, functional_amount = 2 WHERE id = %s", [row_id])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--txns", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args(argv)

    from bench.ledger import common

    db = common.create_database("audit", keep=args.keep_db)
    try:
        common.django_setup(db)
        _setup(db)
        scenarios = {"insert_select": (_insert_select, args.rows), "copy_chunks": (_copy_chunks, args.rows),
                     "small_txns": (_small_txns, args.txns)}
        print(f"machine: {common.machine(db)}")
        print(f"{'scenario':<15}{'size':>10}{'plain s':>10}{'audited s':>11}{'overhead':>10}{'events/run':>12}")
        for name, (fn, size) in scenarios.items():
            times: dict[str, list[float]] = {t: [] for t in TABLES}
            events = 0
            for _ in range(args.repeat):
                for table in TABLES:
                    _reset(db)
                    with _app(db) as conn:
                        before = conn.execute("SELECT count(*) FROM audit_event").fetchone()[0]
                        start = time.perf_counter()
                        fn(conn, table, size)
                        times[table].append(time.perf_counter() - start)
                        if table == "bench_audited":
                            events = conn.execute("SELECT count(*) FROM audit_event").fetchone()[0] - before
            plain, audited = statistics.median(times["bench_plain"]), statistics.median(times["bench_audited"])
            print(f"{name:<15}{size:>10,}{plain:>10.2f}{audited:>11.2f}{audited / plain - 1:>10.1%}{events:>12,}",
                  flush=True)
        from audit.selectors.verify import chain_verify
        from sheshi.db.context import system_context

        with system_context("bench"):
            for org in (1, 2):
                print(f"chain org {org}: {chain_verify(org).summary()}")
    finally:
        db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
