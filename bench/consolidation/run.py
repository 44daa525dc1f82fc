"""Consolidation benchmark: N entities x 2,000 accounts x 5 currencies, ~1% intercompany lines.

    .venv/bin/python -m bench.consolidation.run                      # 10, 50, 100, 200 entities; writes README.md
    .venv/bin/python -m bench.consolidation.run --entities 5 --accounts 200 --no-readme   # smoke

For each size, in a throwaway database migrated like production (bench/ledger/common.py):
* load: the synthetic group pack loaded through load_group_pack's service (organisation, chart,
  posted TB journals through the ledger's bulk posting path, rates, holdings) - set-up, reported
  for scale only;
* PostgreSQL baseline: one bare aggregate over the same TB rows (ledger_balance grouped by entity
  and account, app role, RLS on), and the selector's full TB query (with the counterparty split);
* engine: parse + consolidate + serialise the same pack in memory (no database);
* full run: consolidation_run_request + consolidation_run_execute as the task does - read the
  member TBs, rates and adjustments from the database, consolidate, store results with every
  component - wall time from request to 'succeeded';
* re-run: the same again, which also reverses the first run's journals in the elimination ledger
  (what every later run of a period does).
Wall times on a shared machine vary with load; the load average is reported beside them, and
each run's CPU seconds (this process plus its database backends, CpuMeter) beside its wall time:
on an idle machine a run takes about its CPU seconds, since it runs on one core at a time.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

from bench.ledger.common import LoadSampler, Report, command_line, create_database, django_setup, machine

README = Path(__file__).resolve().parent / "README.md"
TICK = os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds a measurement costs, less sensitive to the machine's load than wall time: this
    process's (time.process_time) plus its database's backends' (utime + stime from /proc,
    sampled every 50 ms so a backend that exits - a connection closed after the job is queued -
    is still counted up to its last sample)."""

    def __init__(self, database: str):
        self.database = database
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _backends(self) -> dict[int, int]:
        out = {}
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmd = (proc / "cmdline").read_bytes().split()
                # client backends only ("postgres: <role> <database> <host>"): not autovacuum
                if len(cmd) < 3 or cmd[0] != b"postgres:" or cmd[2] != self.database.encode():
                    continue
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(proc.name)] = int(fields[11]) + int(fields[12])
        return out

    def _sample(self) -> None:
        for pid, ticks in self._backends().items():
            self.first.setdefault(pid, 0 if self._started else ticks)  # a backend started meanwhile: all of it
            self.last[pid] = ticks

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self._started = False
        self._sample()
        self._started = True
        self.t0 = time.process_time()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.app = time.process_time() - self.t0
        self._stop.set()
        self._thread.join()
        self._sample()
        self.pg = sum(self.last[pid] - self.first[pid] for pid in self.last) / TICK

    def summary(self) -> str:
        return f"{self.app + self.pg:.2f} ({self.app:.2f}+{self.pg:.2f})"
EARLIER = "## Earlier runs"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", default="10,50,100,200")  # the growth curve of issue #17
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    db = create_database("consolidation", keep=args.keep_db)
    try:
        django_setup(db)
        report = _measure(db, [int(x) for x in args.entities.split(",")], args.accounts)
    finally:
        db.drop()
    report.print()
    if not args.no_readme:
        README.write_text(_readme(report, README.read_text() if README.exists() else ""))
        print(f"\nwrote {README.relative_to(Path.cwd()) if README.is_relative_to(Path.cwd()) else README}")


def _measure(db, sizes: list[int], n_accounts: int) -> Report:

    from bench.consolidation.synthetic import group_pack
    from consolidation.engine import consolidate
    from consolidation.models import ConsolidationRun
    from consolidation.pack import pack_parse
    from consolidation.selectors.runs import TB_SQL
    from consolidation.services.loader import group_pack_load
    from consolidation.services.runs import consolidation_run_execute, consolidation_run_request
    from sheshi.db.context import system_context

    report = Report(
        title=f"Consolidation: N entities x {n_accounts} accounts x 5 currencies, ~1% intercompany",
        command=command_line(),
        columns=["entities", "TB lines", "load s (set-up)", "PG aggregate s", "PG TB query s", "engine s",
                 "full run s", "run stored ms", "re-run s", "full run CPU s (app+PG)", "re-run CPU s (app+PG)",
                 "results MB", "IC diffs", "load avg"],
        facts=machine(db))
    for n in sizes:
        pack = group_pack(n, n_accounts)
        text = json.dumps(pack)
        with system_context("bench"):
            t0 = time.perf_counter()
            loaded = group_pack_load(source=text, org_code=f"BENCH{n}")
            load_s = time.perf_counter() - t0
            org_id, period, fy_start = loaded.organisation.pk, loaded.period, loaded.period.fiscal_year.start_date
        analyze_after_load(db)
        with db.app() as conn:
            conn.execute("SELECT set_config('sheshi.org_ids', %s, false)", [str(org_id)])  # the app role names its org
            t0 = time.perf_counter()
            rows = conn.execute("""SELECT entity_id, account_id, sum(functional_debit - functional_credit)
                                     FROM ledger_balance WHERE organisation_id = %s
                                    GROUP BY entity_id, account_id""", [org_id]).fetchall()
            agg_s = time.perf_counter() - t0
            entity_ids = [r[0] for r in conn.execute("SELECT id FROM tenancy_entity WHERE organisation_id = %s",
                                                     [org_id]).fetchall()]
            t0 = time.perf_counter()
            tb_rows = conn.execute(TB_SQL, {"org": org_id, "end": period.end_date, "entities": entity_ids,
                                            "fy": fy_start}).fetchall()
            tb_s = time.perf_counter() - t0
        with LoadSampler() as load:
            t0 = time.perf_counter()
            engine_result = consolidate(pack_parse(text).inputs)
            engine_result.to_dict()
            engine_s = time.perf_counter() - t0
            with system_context("bench"), CpuMeter(db.name) as full_cpu:
                t0 = time.perf_counter()
                run = consolidation_run_request(actor=None, group=loaded.group, period=period, label="bench")
                run = consolidation_run_execute(run_id=run.pk)
                full_s = time.perf_counter() - t0
            with system_context("bench"):
                run = ConsolidationRun.objects.get(pk=run.pk)
                if run.status != "succeeded":
                    sys.exit(f"run failed: {run.error}")
            with system_context("bench"), CpuMeter(db.name) as rerun_cpu:
                t0 = time.perf_counter()
                rerun = consolidation_run_request(actor=None, group=loaded.group, period=period, label="bench")
                rerun = consolidation_run_execute(run_id=rerun.pk)
                rerun_s = time.perf_counter() - t0
        if rerun.status != "succeeded" or len(rerun.reversal_entry_ids) != len(run.posted_entry_ids):
            sys.exit(f"re-run failed or did not reverse the first run: {rerun.error}")
        assert run.fingerprint == engine_result.fingerprint, "database and pack inputs differ"
        size_mb = len(json.dumps(run.results)) / 1e6
        report.rows.append([n, f"{len(tb_rows):,}", f"{load_s:.1f}", f"{agg_s:.3f}", f"{tb_s:.3f}",
                            f"{engine_s:.2f}", f"{full_s:.2f}", run.duration_ms, f"{rerun_s:.2f}", full_cpu.summary(),
                            rerun_cpu.summary(), f"{size_mb:.1f}",
                            len(run.ic_differences), load.summary()])
        print(f"{n} entities: {len(rows):,} aggregate rows; engine {engine_s:.2f}s; full run {full_s:.2f}s "
              f"(CPU {full_cpu.summary()}); re-run {rerun_s:.2f}s (CPU {rerun_cpu.summary()})", flush=True)
    report.notes += [
        "full run = request + read TBs set-based from ledger_balance (and counterparty splits from lines) + "
        "engine + store results (with per-account components) in one row; the fingerprint equals the "
        "engine's on the pack file, so the database round trip changes nothing",
        "PG aggregate s = the raw-SQL baseline: the same TB aggregation as one bare query (app role, RLS on)",
        "re-run = a second run of the same period: it also reverses the first run's journals (set-based)",
        "goal (issue #17): full run <= 3 s for 50 entities, <= 15 s for 200",
    ]
    return report


def analyze_after_load(db) -> None:
    """Statistics for the loaded books, as autovacuum gives a database soon after a load (the
    bench runs seconds later): without them the planner takes the ledger's tables for empty."""
    with db.owner() as conn:
        for table in ("ledger_journalentry", "ledger_journalline", "ledger_balance", "ledger_account",
                      "periods_period", "tenancy_entity"):
            conn.execute(f"ANALYZE {table}")


def _readme(report: Report, previous: str) -> str:
    """The new figures first; the tables of earlier runs kept below them (newest first)."""
    earlier = previous.split("\n### ", 1)[1].replace(EARLIER + "\n\n", "") if "\n### " in previous else ""
    history = f"\n{EARLIER}\n\n### {earlier.rstrip()}\n" if earlier else ""
    return f"""# Consolidation benchmark

One command (needs the private PostgreSQL of `scripts/devdb.py`, started on demand), the growth
curve of 10, 50, 100 and 200 entities (`--entities 10,50` for a quicker look; `--no-readme` to
leave this file as it is):

    .venv/bin/python -m bench.consolidation.run

Engine only, no database (quick):

    .venv/bin/python -m bench.consolidation.engine_bench

The group is synthetic and deterministic (`synthetic.py`): a top parent in EUR and N-1
subsidiaries in EUR/USD/GBP/CHF/JPY in chains (ownership 60-100%), 2,000 accounts each
(20 intercompany), about 1% of every TB's lines intercompany and mirrored by the counterparty
(FX makes a few pairs disagree: those are the reported IC differences), investments and net
assets at acquisition for every subsidiary.

### {report.title}

{report.markdown()}
{history}"""


if __name__ == "__main__":
    main()
