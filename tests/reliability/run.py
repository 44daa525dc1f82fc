"""One command: a close-cycle workload against the real server, faults, then the checker.

    eval "$(python3 scripts/devdb.py env)"
    .venv/bin/python -m tests.reliability.run --seconds 60            # validation on, every fault
    .venv/bin/python -m tests.reliability.run --seconds 60 --unsafe   # the application's checks off

Creates a throwaway database on the private cluster (migrated as the owner; the server runs as
the application's role), seeds it, starts gunicorn and a django-q2 cluster on 127.0.0.1, runs
posters, readers, a period controller and a job enqueuer for ``--seconds``, injects the faults,
stops everything, checks, prints a summary, and drops the database. Exit status 0 only when
there is no violation.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from tests.reliability.faults import FAULTS
from tests.reliability.stack import ROOT, Stack, require_cluster_env

README = Path(__file__).with_name("README.md")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.reliability.run", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=60, help="length of the workload (default 60)")
    p.add_argument("--posters", type=int, default=4)
    p.add_argument("--readers", type=int, default=1)
    p.add_argument("--importers", type=int, default=1)
    p.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    p.add_argument("--faults", default="all", help=f"'all', 'none' or a comma list of {','.join(FAULTS)}")
    p.add_argument("--unsafe", action="store_true",
                   help="switch the application's validation off (SHESHI_UNSAFE_SKIP_APP_VALIDATION=1) and send "
                        "invalid entries: the database alone must refuse them")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--json", type=Path, help="write the full report here")
    p.add_argument("--write-readme", action="store_true", help="record the figures in tests/reliability/README.md")
    p.add_argument("--keep-db", action="store_true", help="do not drop the throwaway database")
    p.add_argument("--no-template", action="store_true",
                   help="migrate a fresh database instead of cloning the cached migrated template")
    return p.parse_args(argv)


def _schedule(names: list[str], seconds: float) -> list[tuple[float, str]]:
    """Spread the faults over the middle of the run, leaving the last fifth to recover in."""
    if not names:
        return []
    step = 0.7 * seconds / len(names)
    return [(0.1 * seconds + i * step, name) for i, name in enumerate(names)]


def _configure_django(stack: Stack) -> None:
    os.environ.update(stack.env())
    os.environ.pop("SHESHI_UNSAFE_SKIP_APP_VALIDATION", None)  # the runner's own process stays checked
    # The runner seeds and checks in the all-organisations scope, as a command would: the jobs role.
    # Its gunicorn is the web role whatever it inherits (sheshi/wsgi.py).
    os.environ["SHESHI_DB_AS"] = "jobs"
    import django

    django.setup()


def _queued_jobs(db) -> int:
    """Jobs waiting or handed out: the ORM broker's table, or the SQS queue's counts when the run
    uses SQS (SHESHI_SQS_QUEUE_URL in the environment, e.g. against a local moto server)."""
    if os.environ.get("SHESHI_SQS_QUEUE_URL"):
        from django_q.brokers import get_broker

        broker = get_broker()
        return broker.queue_size() + broker.lock_size()
    return db.execute("SELECT count(*) FROM django_q_ormq").fetchone()[0]


def _drain_jobs(stack: Stack, timeout: float) -> float:
    """Let the cluster finish what was enqueued (a killed job comes back after Q_RETRY)."""
    t0 = time.time()
    with stack.owner() as db:
        while time.time() - t0 < timeout:
            if _queued_jobs(db) == 0:
                break
            time.sleep(0.5)
    return time.time() - t0


UNFINISHED_JOBS = """
    SELECT (SELECT count(*) FROM ledger_importbatch WHERE status IN ('pending', 'running'))
         + (SELECT count(*) FROM consolidation_consolidationrun WHERE status IN ('queued', 'running'))"""


def _recover_jobs(stack: Stack, timeout: float) -> dict:
    """Restart what was killed and finish the run: after the queue drained, call the lost-job
    recovery (what the cluster's every-minute schedule does; in-process, as the system) until no
    import batch or consolidation run is left unfinished, waiting for each round's re-enqueued
    tasks. A job counts as lost only once older than the task timeout, hence the rounds."""
    from sheshi.jobs.recovery import lost_jobs_recover

    t0, recovered, rounds = time.time(), Counter(), 0
    with stack.owner() as db:
        while time.time() - t0 < timeout and db.execute(UNFINISHED_JOBS).fetchone()[0]:
            lost = lost_jobs_recover()
            rounds += bool(lost)
            recovered.update(job.kind for job in lost)
            if lost:
                _drain_jobs(stack, timeout=max(1.0, timeout - (time.time() - t0)))
            else:
                time.sleep(0.5)
        left = db.execute(UNFINISHED_JOBS).fetchone()[0]
        by_schedule = sum(n for (n,) in db.execute(
            "SELECT count(*) FROM audit_event WHERE action IN ('import_batch.recovered', 'consolidation_run.recovered')"
            " AND actor_label = 'system:recover_jobs'").fetchall()) - sum(recovered.values())
        schedule_runs = db.execute("SELECT count(*) FILTER (WHERE success) FROM django_q_task WHERE func = "
                                   "'sheshi.jobs.tasks.lost_jobs_recover_task'").fetchone()[0]
    return {"at_end_imports": recovered["import_batch"], "at_end_consolidations": recovered["consolidation_run"],
            "by_schedule_during_run": by_schedule, "schedule_runs": schedule_runs, "rounds": rounds,
            "left_unfinished": left,
            "seconds": round(time.time() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    names = list(FAULTS) if args.faults == "all" else [] if args.faults == "none" else args.faults.split(",")
    unknown = set(names) - set(FAULTS)
    if unknown:
        raise SystemExit(f"unknown faults: {sorted(unknown)}")
    stack = Stack(require_cluster_env(), workers=args.workers, unsafe=args.unsafe)
    run_id = f"r{seed}"
    print(f"[reliability] run {run_id}: seed={seed} database={stack.dbname} unsafe={args.unsafe} faults={names}",
          flush=True)
    proxy = None
    t_setup = time.time()
    made = stack.create_database(use_template=not args.no_template)
    try:
        _configure_django(stack)
        from tests.reliability.checker import check
        from tests.reliability.clients import Controller, Importer, JobEnqueuer, Poster, Reader, Recorder
        from tests.reliability.faults import FaultInjector
        from tests.reliability.proxy import CutProxy
        from tests.reliability.seed import seed as seed_data

        seeded = seed_data(args.posters)
        proxy = CutProxy(stack.pg_port).start()
        stack.proxy_port = proxy.port
        stack.start_gunicorn()
        stack.start_qcluster()
        stack.wait_web(seeded.tokens["reader"])
        setup_s = time.time() - t_setup
        print(f"[reliability] stack up in {setup_s:.1f} s (database {made}): web 127.0.0.1:{stack.web_port} → "
              f"proxy :{proxy.port} → PostgreSQL :{stack.pg_port}", flush=True)

        recorder, stop = Recorder(), threading.Event()
        base = f"http://127.0.0.1:{stack.web_port}"
        deadline = time.time() + args.seconds
        clients = [Poster(f"p{i}", base, seeded.tokens[f"poster{i}"], recorder, deadline, seed + i, run_id=run_id,
                          unsafe=args.unsafe) for i in range(args.posters)]
        clients += [Reader(f"r{i}", base, seeded.tokens["reader"], recorder, deadline, seed + 100 + i)
                    for i in range(args.readers)]
        clients += [Importer(f"i{i}", base, seeded.tokens["importer"], recorder, deadline, seed + 400 + i,
                             run_id=run_id, source_system=seeded.source_system_id) for i in range(args.importers)]
        clients.append(Controller("ctl", base, seeded.tokens["controller"], recorder, deadline, seed + 200,
                                  entity_periods=seeded.entity_periods, group_id=seeded.group_id))
        clients.append(JobEnqueuer(recorder, deadline, seed + 300, run_id, seeded.entities))
        injector = FaultInjector(stack, proxy, _schedule(names, args.seconds), seeded.tokens["reader"], stop,
                                 seeded=seeded, base_url=base, recorder=recorder)
        for c in [*clients, injector]:
            c.start()
        for c in clients:
            c.join(max(1.0, deadline - time.time() + 30))
        stop.set()
        injector.join(90)
        hung = [c.name for c in [*clients, injector] if c.is_alive()]
        drain_s = _drain_jobs(stack, timeout=30)
        recovery = _recover_jobs(stack, timeout=45)
        stack.stop()
        proxy.close()
        log = stack.log_dir / f"{stack.dbname}-requests.jsonl"
        log.write_text("".join(json.dumps(r, default=str) + "\n" for r in recorder.records))
        report = check(stack, seeded, recorder.records, injector.events)
        report.notes.append(f"every request's outcome: {log.relative_to(ROOT)}")
        if hung:
            report.violate("hung", f"threads still running: {hung}")
        report.notes += [f"fault not injected: {e}" for e in injector.errors]
        report.figures.update(run_id=run_id, seed=seed, seconds=args.seconds, unsafe=args.unsafe, posters=args.posters,
                              readers=args.readers, importers=args.importers, workers=args.workers, faults=names,
                              setup_s=round(setup_s, 1),
                              drain_s=round(drain_s, 1), recovery=recovery)
        text = summary(report)
        print(text, flush=True)
        if args.json:
            args.json.write_text(json.dumps({"figures": report.figures, "faults": report.faults,
                                             "violations": report.violations, "notes": report.notes},
                                            indent=2, default=str))
        if args.write_readme:
            write_readme(text, unsafe=args.unsafe)
        return 1 if report.violations else 0
    finally:
        stack.stop()
        if proxy is not None:
            proxy.close()
        if not args.keep_db:
            stack.drop_database()


def _kv(d: dict, keys: list[str]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {d.get(k, 0)}" for k in keys)


def summary(report) -> str:
    f = report.figures
    req = f.get("requests", {})
    posts, jobs, ledger, periods = f.get("posts", {}), f.get("jobs", {}), f.get("ledger", {}), f.get("periods", {})
    audit, reads = f.get("audit", {}), f.get("tb_reads", {})
    by_kind = {}
    for k, n in sorted(req.items()):
        kind, outcome = k.split(":")
        by_kind.setdefault(kind, []).append(f"{outcome} {n}")
    mode = "OFF (database alone)" if f.get("unsafe") else "on"
    lines = [
        f"Sheshi reliability run {f.get('run_id')} (seed {f.get('seed')}): {f.get('seconds'):g} s, "
        f"{f.get('posters')} posters, {f.get('readers')} reader(s), {f.get('importers', 0)} importer(s), "
        f"1 period controller, 1 job enqueuer; "
        f"{f.get('workers')} gunicorn workers + qcluster; app validation {mode}",
        "requests  " + " | ".join(f"{k}: {', '.join(v)}" for k, v in by_kind.items()),
        f"posts     {posts.get('keys', 0)} keys: acknowledged {posts.get('acknowledged', 0)}, refused "
        f"{posts.get('refused', 0)}, unknown-only {posts.get('unknown_only', 0)} → present "
        f"{posts.get('resolved_present', 0)} / absent {posts.get('resolved_absent', 0)}",
    ]
    refused = {k.split(":", 1)[1]: v for k, v in posts.items() if k.startswith("refused_code:")}
    if refused:
        lines.append("refusals  " + ", ".join(f"{k} {v}" for k, v in sorted(refused.items())))
    invalid = {k.split(":", 1)[1]: v for k, v in posts.items() if k.startswith("invalid_sent:")}
    if invalid:
        lines.append("invalid   " + ", ".join(f"{k} sent {v} stored {posts.get('invalid_stored:' + k, 0)}"
                                              for k, v in sorted(invalid.items())))
    lines += [
        "jobs      " + _kv(jobs, ["enqueued", "succeeded", "failed", "unfinished", "left_in_queue"]),
        "imports   " + _kv(f.get("imports", {}), ["files", "uploads", "accepted", "queued", "refused", "unknown_only",
                                                  "resolved_present", "resolved_absent", "resent"])
        + "".join(f", {k.split(':', 1)[1]} {v}" for k, v in sorted(f.get("imports", {}).items())
                  if k.startswith("refused_code:")),
        "batches   " + _kv(f.get("imports", {}), ["batches_posted", "batches_rejected", "batches_failed",
                                                  "left_unfinished", "lines_imported"]),
        "consol.   " + _kv(f.get("consolidation", {}), ["requested", "succeeded", "failed", "stuck", "restarted",
                                                        "live_elimination_entries", "recomputed_equal",
                                                        "recompute_mismatch", "not_recomputed_busy"])
        + "".join(f", {k.split(':', 1)[1]} {v}" for k, v in sorted(f.get("consolidation", {}).items())
                  if k.startswith("failed_code:")),
        "recovery  " + _kv(f.get("recovery", {}), ["at_end_imports", "at_end_consolidations",
                                                   "by_schedule_during_run", "schedule_runs", "rounds",
                                                   "left_unfinished", "seconds"])
        + " (lost jobs re-enqueued: after the drain by the runner, during the run by the every-minute schedule)",
        "ledger    " + _kv(ledger, ["posted_entries", "lines", "unbalanced", "invalid_lines"])
        + f", balances_verify differences {f.get('balances_verify_differences')}",
        "periods   " + _kv(periods, ["transitions", "locks", "snapshots", "snapshots_mismatched",
                                     "entries_in_closed_intervals"]),
        "reads     " + _kv(reads, ["ok", "not_summing_to_zero"]),
        "audit     " + ("absent" if not audit.get("present") else
                        f"chain {'intact' if audit.get('chain_intact') else 'BROKEN'}, {audit.get('events')} events; "
                        + "; ".join(f"{k.split(':')[1]}: {v}" for k, v in audit.items() if k.startswith("covers:"))),
        "",
        f"{'fault':<18}{'in flight':>10}{'unknown':>9}{'present':>9}{'absent':>8}{'lost':>6}{'dup':>5}"
        f"{'recover s':>11}  detail",
    ]
    for ft in report.faults:
        rec = "-" if ft["recover_s"] is None else f"{ft['recover_s']:.2f}"
        lines.append(f"{ft['fault']:<18}{ft['in_flight']:>10}{ft['unknown_keys']:>9}{ft['resolved_present']:>9}"
                     f"{ft['resolved_absent']:>8}{ft['lost']:>6}{ft['duplicated']:>5}{rec:>11}  {ft['detail']}")
    if not report.faults:
        lines.append("(no faults injected)")
    lines.append("")
    for n in report.notes:
        lines.append(f"note: {n}")
    kinds = Counter(v.split(":", 1)[0] for v in report.violations)
    lines.append(f"VIOLATIONS: {len(report.violations)}" + (
        " (" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")" if kinds else "  — every promise held"))
    lines += [f"  ✗ {v}" for v in report.violations[:8]]
    if len(report.violations) > 8:
        lines.append(f"  … and {len(report.violations) - 8} more (--json has them all)")
    return "\n".join(lines)


def write_readme(text: str, *, unsafe: bool) -> None:
    tag = "unsafe" if unsafe else "safe"
    start, end = f"<!-- figures:{tag}:start -->", f"<!-- figures:{tag}:end -->"
    body = README.read_text() if README.exists() else ""
    block = f"{start}\n```text\n{text}\n```\n{end}"
    if start in body and end in body:
        body = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, body, flags=re.S)
    else:
        body += f"\n{block}\n"
    README.write_text(body)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
