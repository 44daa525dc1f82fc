"""Import benchmark: a GL-detail CSV end to end (hash, store, parse, validate, post, lineage),
beside a raw COPY of the same rows in the same run, with peak RSS at two file sizes.

    .venv/bin/python bench/import/run.py --rows 1000000          # the real run
    .venv/bin/python bench/import/run.py --rows 20000 --small-rows 5000 --no-readme   # smoke

Each measured run is a child process (peak RSS is that run's alone) against one throwaway
database (bench/ledger/common.py plumbing), emptied between runs:

* ``copy``   COPY of the same rows (CSV parsed with the csv module, Decimal amounts, account ids
             looked up, the raw row as JSON) into an unconstrained table shaped like the lines;
* ``import`` import_batch_create + import_batch_run as the application's role with the RLS
             scope set: the file hashed and stored, validated whole, then posted through
             ledger.services.bulk with every database check, balances and lineage (source row + raw row);
* ``small``  the same import with a smaller file: peak RSS must not grow with the file.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.ledger import common  # noqa: E402

README = Path(__file__).resolve().parent / "README.md"
SEED = 20260107
MAPPING = {"kind": "gl_detail", "account": "Account", "amount": "Amount", "date": "Date", "reference": "Doc",
           "description": "Text", "dimensions": {"cost_centre": "CC"}}


def write_gl(path: Path, rows: int, codes: list[str]) -> None:
    """Two-line documents in January 2026, amounts with thousands separators and trailing minus."""
    rng = random.Random(SEED)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Date", "Doc", "Account", "Amount", "Text", "CC"])
        for doc in range(rows // 2):
            day = date(2026, 1, 1 + doc % 31).isoformat()
            cents = rng.randrange(1, 10_000_000)
            amount = f"{Decimal(cents) / 100:,.2f}"
            d, c = rng.sample(codes, 2)
            text = f"Invoice {doc} customer {rng.randrange(5000)}"
            w.writerow([day, f"D{doc}", d, amount, text, f"CC{doc % 7}"])
            w.writerow([day, f"D{doc}", c, f"{amount}-", text, f"CC{doc % 7}"])


def worker_copy(world: dict, path: str) -> dict:
    import psycopg

    ids = dict(zip(world["account_codes"], world["account_ids"], strict=True))
    t0 = time.perf_counter()
    n = 0
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cur, open(path, newline="") as fh:
        cur.execute("SELECT set_config('sheshi.org_ids', %s, false)", [str(world["org_id"])])
        reader = csv.reader(fh)
        next(reader)
        cols = ("id, organisation_id, entity_id, period_id, entry_id, line_no, account_id, currency, amount, rate, "
                "functional_amount, counterparty_id, dimensions, memo, import_batch_id, source_row, source_raw")
        with cur.copy(f"COPY bench_copy_lines ({cols}) FROM STDIN") as copy:
            for row in reader:
                n += 1
                raw = row[3]
                amount = -Decimal(raw[:-1].replace(",", "")) if raw.endswith("-") else Decimal(raw.replace(",", ""))
                copy.write_row((n, world["org_id"], world["entity_id"], world["period_id"], (n + 1) // 2,
                                2 - n % 2, ids[row[2]], "EUR", amount, 1, amount, None,
                                json.dumps({"cost_centre": row[5]}), row[4], 1, n + 1,
                                json.dumps(row, ensure_ascii=False)))
        conn.commit()
    return {"seconds": time.perf_counter() - t0, "rows": n}


def worker_import(world: dict, path: str) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from ledger.imports.mapping import ColumnMapping
    from ledger.imports.services import import_batch_create, import_batch_run
    from periods.models import Period
    from sheshi.db.context import db_context
    from sheshi.tenancy.models import Entity

    marks: dict[str, float] = {}
    last = {"rows": 0}

    def progress(rows: int) -> None:
        if rows < last["rows"] and "validated" not in marks:
            marks["validated"] = time.perf_counter()
        last["rows"] = rows

    with db_context(org_ids=[world["org_id"]], actor_id=world["user_id"], actor_label="bench:import"):
        user = get_user_model().objects.get(pk=world["user_id"])
        entity = Entity.objects.get(pk=world["entity_id"])
        period = Period.objects.get(pk=world["period_id"])
        t0 = time.perf_counter()
        with open(path, "rb") as fh:
            batch = import_batch_create(actor=user, entity=entity, period=period, stream=fh,
                                        filename=Path(path).name, mapping=ColumnMapping.from_dict(MAPPING))
        t1 = time.perf_counter()
        batch = import_batch_run(actor=user, batch_id=batch.pk, progress=progress)
        t2 = time.perf_counter()
    if batch.status != "posted":
        raise SystemExit(f"import {batch.status}: {batch.errors[:5]}")
    validated = marks.get("validated", t1)
    return {"seconds": t2 - t0, "rows": batch.row_count, "lines": batch.line_count, "entries": batch.entry_count,
            "hash_store": t1 - t0, "validate": validated - t1, "post": t2 - validated, "batch_id": batch.pk}


def reset(db: common.BenchDb) -> None:
    with db.admin() as c:
        c.execute("SET session_replication_role = replica")
        c.execute("TRUNCATE ledger_journalline, ledger_journalentry, ledger_journalentryattachment, "
                  "ledger_journalentrycomment, ledger_balance, ledger_historicaljournalentry, "
                  "ledger_importbatch, bench_copy_lines")
        c.execute("RESET session_replication_role")
        c.execute("ANALYZE ledger_journalline, ledger_journalentry, ledger_balance")
        c.execute("CHECKPOINT")


def run_child(db: common.BenchDb, variant: str, path: Path, world: dict, media: str) -> dict:
    env = dict(os.environ, **common.point_django_at(db), BENCH_WORLD=json.dumps(world), MEDIA_ROOT=media)
    with common.LoadSampler() as load:
        proc = subprocess.run([sys.executable, __file__, "--worker", variant, "--file", str(path)], env=env,
                              cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stdout}\n{proc.stderr}")
    out = json.loads(next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))[7:])
    out["load"] = load.summary()
    return out


def verify(db: common.BenchDb, rows: int) -> str:
    with db.admin() as c:
        lines = c.execute("SELECT count(*) FROM ledger_journalline WHERE source_row IS NOT NULL "
                          "AND import_batch_id IS NOT NULL AND source_raw <> ''").fetchone()[0]
        diff = c.execute("""
            WITH l AS (SELECT entity_id, account_id, period_id, currency, sum(amount) a, count(*) n
                         FROM ledger_journalline GROUP BY 1, 2, 3, 4)
            SELECT count(*) FROM l FULL JOIN ledger_balance b USING (entity_id, account_id, period_id, currency)
             WHERE l.a IS DISTINCT FROM b.amount OR l.n IS DISTINCT FROM b.line_count""").fetchone()[0]
    if lines != rows or diff:
        raise SystemExit(f"verification failed: {lines} lines with lineage (expected {rows}), {diff} balance diffs")
    return f"{lines:,} lines each with batch, source row and raw row; balances = recomputation from lines"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--small-rows", type=int, default=200_000)
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--worker", choices=("copy", "import"))
    ap.add_argument("--file")
    args = ap.parse_args(argv)
    if args.worker:
        world = json.loads(os.environ["BENCH_WORLD"])
        out = (worker_copy if args.worker == "copy" else worker_import)(world, args.file)
        out["peak_rss_mib"] = common.peak_rss_mib()
        print("RESULT " + json.dumps(out), flush=True)
        return 0

    db = common.create_database("import", keep=args.keep_db)
    tmp = tempfile.TemporaryDirectory(prefix="sheshi-bench-import-")
    try:
        common.django_setup(db)
        from bench.ledger.world import build_world
        from periods.models import Period
        from sheshi.db.context import system_context

        with system_context("bench"):
            w = build_world(entities=1)
            period = Period.objects.get(organisation_id=w.org_id, code="2026-01")
        world = {"org_id": w.org_id, "entity_id": w.entity_ids[0], "user_id": w.user_id, "period_id": period.pk,
                 "account_ids": w.account_ids, "account_codes": w.account_codes}
        with db.owner() as c:
            c.execute("CREATE TABLE bench_copy_lines (LIKE ledger_journalline)")
            c.execute(f'GRANT SELECT, INSERT ON bench_copy_lines TO "{db.app_role}"')
        big, small = Path(tmp.name) / f"gl_{args.rows}.csv", Path(tmp.name) / f"gl_{args.small_rows}.csv"
        write_gl(big, args.rows, w.account_codes)
        write_gl(small, args.small_rows, w.account_codes)
        media = str(Path(tmp.name) / "media")
        facts = common.machine(db)
        results = {}
        for variant, path in (("copy", big), ("import", big), ("small", small)):
            reset(db)
            print(f"[{variant}] {path.name} ({path.stat().st_size / 2**20:.0f} MiB) …", flush=True)
            out = run_child(db, "copy" if variant == "copy" else "import", path, world, media)
            out["rate"] = out["rows"] / out["seconds"]
            out["mib"] = path.stat().st_size / 2**20
            if variant != "copy":
                out["verified"] = verify(db, out["rows"])
            results[variant] = out
            print(f"[{variant}] {out['rate']:,.0f} rows/s in {out['seconds']:.1f} s, "
                  f"peak RSS {out['peak_rss_mib']:.0f} MiB", flush=True)
        report = build_report(results, facts)
        report.print()
        if not args.no_readme:
            write_readme(report)
    finally:
        tmp.cleanup()
        db.drop()
    return 0


def build_report(results: dict, facts: dict) -> common.Report:
    rep = common.Report(title="Import of a GL-detail CSV (ledger.imports)", command=" ".join(
        [".venv/bin/python bench/import/run.py", *sys.argv[1:]]), facts=facts, columns=[
        "run", "rows", "file MiB", "seconds", "rows/s", "vs COPY", "hash+store s", "validate s", "post s",
        "peak RSS MiB", "load 1m (start→max)"])
    copy_rate = results["copy"]["rate"]
    labels = {"copy": "COPY of the same rows (baseline)", "import": "import end to end", "small": "import (small file)"}
    for v, r in results.items():
        rep.rows.append([labels[v], f"{r['rows']:,}", f"{r['mib']:.0f}", f"{r['seconds']:.1f}", f"{r['rate']:,.0f}",
                         f"{r['rate'] / copy_rate:.2f}", *(f"{r[k]:.1f}" if k in r else "—"
                                                           for k in ("hash_store", "validate", "post")),
                         f"{r['peak_rss_mib']:.0f}", r["load"]])
    imp, small = results["import"], results["small"]
    ratio = imp["mib"] / small["mib"]
    rep.notes.append(f"Peak RSS {small['peak_rss_mib']:.0f} MiB at {small['rows']:,} rows vs "
                     f"{imp['peak_rss_mib']:.0f} MiB at {imp['rows']:,} rows ({ratio:.1f}× the file).")
    rep.notes.append(f"import: {imp['verified']}.")
    rep.notes.append("End to end = hash + content-addressed store + validation pass (every row) + posting pass "
                     "(parse again, ledger.services.bulk COPY"
                     " + posting trigger + balances + history) in one transaction.")
    return rep


def write_readme(report: common.Report) -> None:
    intro = (README.read_text().split("<!-- figures -->")[0] if README.exists() else
             "# Import benchmark\n\nSee the docstring of `bench/import/run.py` for what each run measures.\n\n")
    README.write_text(intro.rstrip() + "\n\n<!-- figures -->\n## " + report.title + "\n\n" + report.markdown() + "\n")
    print(f"written to {README}")


if __name__ == "__main__":
    raise SystemExit(main())
