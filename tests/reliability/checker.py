"""After the run, against the database: does every promise hold?

Reads as the schema owner (row-level security does not hide rows from it) and, for the ledger's
own verification, through Django in the system scope. Returns figures and a list of violations;
a violation is a broken promise, never a refusal the system was right to make.

Commit order against period locks: a posting holds FOR SHARE on its entity-period row from before
it stamps ``posted_at`` until it commits; a lock holds FOR UPDATE from before it stamps the
period's ``changed_at`` until it commits. So an entry committed before a lock has
``posted_at < changed_at`` of that lock, and one that took its share lock after the lock
committed has ``posted_at`` after it. Hence, on one host's clock: no posted entry may have a
``posted_at`` inside a locked (or soft-closed) interval of its period's history, and each lock
snapshot must equal the lines posted before that lock's ``changed_at`` — exactly.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from tests.reliability.checks_consolidation import check_consolidation, recompute_runs
from tests.reliability.checks_imports import check_imports, import_state
from tests.reliability.faults import MID_JOB_FAULTS, FaultEvent, mid_job_fault_figures
from tests.reliability.seed import Seeded
from tests.reliability.stack import Stack

D0 = Decimal(0)


@dataclass
class Report:
    figures: dict = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    faults: list[dict] = field(default_factory=list)

    def violate(self, kind: str, detail: str) -> None:
        self.violations.append(f"{kind}: {detail}")


def _rows(conn, sql: str, params=None) -> list[tuple]:
    return conn.execute(sql, params or {}).fetchall()


def check(stack: Stack, seeded: Seeded, records: list[dict], faults: list[FaultEvent]) -> Report:
    report = Report()
    org = seeded.organisation_id
    with stack.owner() as db:
        db_keys = defaultdict(list)  # idempotency key -> [(id, status, posted_at)]
        for key, eid, status, posted_at in _rows(db, "SELECT idempotency_key, id, status, posted_at "
                                                 "FROM ledger_journalentry WHERE organisation_id = %(org)s "
                                                 "AND idempotency_key IS NOT NULL", {"org": org}):
            db_keys[key].append((eid, status, posted_at))
        by_description = Counter(dict(_rows(db, "SELECT description, count(*) FROM ledger_journalentry "
                                            "WHERE organisation_id = %(org)s GROUP BY 1", {"org": org})))
        posts = _check_posts(report, records, db_keys, by_description)
        jobs = _check_jobs(report, db, records, db_keys, by_description)
        runs = check_consolidation(report, db, records, seeded.group_id)
        files = check_imports(report, records, import_state(db, org))
        _check_ledger(report, db, org)
        _check_periods(report, db, org)
        _check_audit(report, db, stack)
        _check_locks(report, stack)
        report.faults = [_job_fault_figures(db, ev, jobs) if ev.name == "qcluster_kill"
                         else mid_job_fault_figures(db, ev, runs, files) if ev.name in MID_JOB_FAULTS
                         else _fault_figures(ev, records, posts) for ev in faults]
        recompute_runs(report, db, runs, seeded.group_id)
    _check_balances_verify(report, org)
    _check_reads(report, records)
    report.figures["requests"] = dict(Counter(f"{r['kind']}:{r['outcome']}" for r in records))
    return report


def _check_posts(report: Report, records: list[dict], db_keys, by_description) -> dict[str, dict]:
    """Per Idempotency-Key: acknowledged → exactly once, with the acknowledged id; definitely
    refused → absent; unknown only → resolved to present or absent, never twice."""
    posts: dict[str, dict] = {}
    for r in (r for r in records if r["kind"] == "post"):
        p = posts.setdefault(r["key"], {"acked": set(), "failed": [], "unknown": 0, "variant": r["variant"],
                                        "first_t0": r["t0"], "attempts": 0})
        p["attempts"] += 1
        if r["outcome"] == "ok":
            p["acked"].add(r["entry_id"])
        elif r["outcome"] == "failed":
            p["failed"].append(r["code"])
        else:
            p["unknown"] += 1
    fig = Counter()
    for key, p in posts.items():
        found = db_keys.get(key, [])
        p["present"] = len(found)
        copies = by_description.get(f"rel:{key}", 0)
        if len(found) > 1 or copies > 1:
            report.violate("duplicated", f"{key}: {len(found)} entries by key, {copies} by description")
        if any(status != "posted" for _, status, _ in found):
            report.violate("half_written", f"{key}: entry left in status {[s for _, s, _ in found]}")
        if len(p["acked"]) > 1:
            report.violate("replay_mismatch", f"{key}: acknowledged as entries {sorted(p['acked'])}")
        if p["acked"]:
            fig["acknowledged"] += 1
            if not found:
                report.violate("lost", f"{key}: acknowledged as entry {sorted(p['acked'])} but absent")
            elif found[0][0] not in p["acked"]:
                report.violate("lost", f"{key}: acknowledged as {sorted(p['acked'])}, stored as {found[0][0]}")
        elif p["unknown"]:
            fig["unknown_only"] += 1
            fig["resolved_present" if found else "resolved_absent"] += 1
        else:
            fig["refused"] += 1
            if found:
                report.violate("phantom", f"{key}: refused ({p['failed']}) but stored as entry {found[0][0]}")
        if p["variant"]:
            fig[f"invalid_sent:{p['variant']}"] += 1
            if found:
                fig[f"invalid_stored:{p['variant']}"] += 1
        for code in p["failed"]:
            fig[f"refused_code:{code}"] += 1
    report.figures["posts"] = dict(fig, keys=len(posts))
    return posts


def _check_jobs(report: Report, db, records: list[dict], db_keys, by_description) -> dict[str, dict]:
    """Each enqueued job: succeeded → its entry exactly once; failed → no entry; unfinished → at
    most once (it will replay by its key)."""
    enqueued = [r["key"] for r in records if r["kind"] == "job" and r["outcome"] == "ok"]
    tasks = {name: (success, float(stopped)) for name, success, stopped in _rows(
        db, "SELECT name, success, extract(epoch FROM stopped) FROM django_q_task")}
    pending = _rows(db, "SELECT count(*) FROM django_q_ormq")[0][0]
    fig = Counter(enqueued=len(enqueued), left_in_queue=pending)
    jobs = {}
    for key in enqueued:
        found = db_keys.get(key, [])
        state = tasks.get(key)
        jobs[key] = {"present": len(found), "success": None if state is None else state[0],
                     "stopped": None if state is None else state[1],
                     "enqueued_at": next(r["t0"] for r in records if r.get("key") == key)}
        if len(found) > 1 or by_description.get(f"rel:{key}", 0) > 1:
            report.violate("job_duplicated", f"{key}: {len(found)} entries")
        if state is None:
            fig["unfinished"] += 1
            fig["unfinished_committed" if found else "unfinished_absent"] += 1
        elif state[0]:
            fig["succeeded"] += 1
            if not found:
                report.violate("job_lost", f"{key}: task succeeded but its entry is absent")
        else:
            fig["failed"] += 1
            if found:
                report.violate("job_phantom", f"{key}: task failed but entry {found[0][0]} exists")
    report.figures["jobs"] = dict(fig)
    return jobs


def _check_ledger(report: Report, db, org: int) -> None:
    unbalanced = _rows(db, """
        SELECT e.id, coalesce(sum(l.functional_amount), 0), count(l.id) FROM ledger_journalentry e
          LEFT JOIN ledger_journalline l ON l.entry_id = e.id
         WHERE e.organisation_id = %(org)s AND e.status = 'posted'
         GROUP BY e.id HAVING coalesce(sum(l.functional_amount), 0) <> 0 OR count(l.id) < 2""", {"org": org})
    for eid, total, n in unbalanced:
        report.violate("unbalanced", f"entry {eid} sums to {total} over {n} lines")
    # Rules the application checks: with its validation off, the database must still hold them.
    bad_lines = _rows(db, """
        SELECT l.entry_id, l.line_no, l.currency, l.rate, l.amount, l.functional_amount,
               CASE WHEN l.amount = 0 AND l.functional_amount = 0 THEN 'zero line'
                    WHEN l.currency = ent.functional_currency AND l.rate <> 1 THEN 'functional-currency rate <> 1'
                    ELSE 'unknown currency' END
          FROM ledger_journalline l JOIN ledger_journalentry e ON e.id = l.entry_id AND e.status = 'posted'
          JOIN tenancy_entity ent ON ent.id = l.entity_id
         WHERE l.organisation_id = %(org)s
           AND ((l.amount = 0 AND l.functional_amount = 0) OR (l.currency = ent.functional_currency AND l.rate <> 1)
                OR NOT (l.currency = ANY(%(iso)s)))""", {"org": org, "iso": _iso_currencies()})
    for eid, line_no, cur, rate, amount, functional, why in bad_lines:
        report.violate("invalid_line", f"entry {eid} line {line_no}: {why} ({cur} {amount} @ {rate} = {functional})")
    drafts = _rows(db, "SELECT count(*) FROM ledger_journalentry WHERE organisation_id = %(org)s "
                   "AND status <> 'posted'", {"org": org})[0][0]
    if drafts:
        report.violate("half_written", f"{drafts} entries not posted (every write in this workload posts)")
    n_entries, n_lines = _rows(db, "SELECT count(DISTINCT e.id), count(l.id) FROM ledger_journalentry e "
                               "JOIN ledger_journalline l ON l.entry_id = e.id WHERE e.organisation_id = %(org)s",
                               {"org": org})[0]
    report.figures["ledger"] = {"posted_entries": n_entries, "lines": n_lines, "unbalanced": len(unbalanced),
                                "invalid_lines": len(bad_lines)}


def _iso_currencies() -> list[str]:
    from sheshi.money import is_iso_currency

    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [a + b + c for a in letters for b in letters for c in letters if is_iso_currency(a + b + c)]


# When a posting held its period's share lock. The one-by-one path stamps posted_at under it; the
# bulk path (ledger/services/bulk.py) stamps posted_at before it inserts, and the share lock is only taken
# by the posting trigger, so a large import that waited for a reopen carries a posted_at from
# inside the locked interval. Its batch's finished_at is stamped after the trigger, in the same
# transaction: the time the lock argument holds for.
POSTED_AT = "coalesce(b.finished_at, e.posted_at)"
BATCH_JOIN = "LEFT JOIN ledger_importbatch b ON b.id = e.import_batch_id AND e.source = 'import'"


def _check_periods(report: Report, db, org: int) -> None:
    """No posting inside a closed interval; each lock snapshot equals what committed before it."""
    history = _rows(db, """
        SELECT id, state, changed_at FROM periods_historicalentityperiod
         WHERE organisation_id = %(org)s AND changed_at IS NOT NULL ORDER BY id, changed_at, history_id""",
                    {"org": org})
    intervals = defaultdict(list)  # ep id -> [(state, from, to)]
    for ep, state, at in history:
        if intervals[ep] and intervals[ep][-1][1] == at:
            continue  # the same transition saved twice
        if intervals[ep]:
            s, frm, _ = intervals[ep][-1]
            intervals[ep][-1] = (s, frm, at)
        intervals[ep].append((state, at, None))
    locks = sum(1 for iv in intervals.values() for s, _, _ in iv if s == "locked")
    entries = _rows(db, f"""
        SELECT e.id, ep.id, {POSTED_AT} FROM ledger_journalentry e {BATCH_JOIN}
          JOIN periods_entityperiod ep ON ep.entity_id = e.entity_id AND ep.period_id = e.period_id
         WHERE e.organisation_id = %(org)s AND e.status = 'posted'""", {"org": org})
    inside = 0
    for eid, ep, posted_at in entries:
        for state, frm, to in intervals.get(ep, []):
            if state != "open" and frm < posted_at and (to is None or posted_at < to):
                inside += 1
                report.violate("posted_while_closed", f"entry {eid} posted at {posted_at} while entity-period {ep} "
                                                      f"was {state} ({frm} → {to})")
    snapshots = _rows(db, "SELECT s.id, s.entity_period_id, s.taken_at, s.trial_balance, s.line_count "
                      "FROM periods_periodlocksnapshot s WHERE s.organisation_id = %(org)s ORDER BY s.id",
                      {"org": org})
    mismatched = 0
    for sid, ep, taken_at, tb, line_count in snapshots:
        lock_at = max((frm for s, frm, _ in intervals.get(ep, []) if s == "locked" and frm <= taken_at), default=None)
        if lock_at is None:
            report.violate("snapshot_unmatched", f"snapshot {sid} of entity-period {ep} has no lock before it")
            continue
        expected = _rows(db, f"""
            SELECT a.code, l.currency, sum(l.amount), sum(l.functional_amount), count(*)
              FROM ledger_journalline l JOIN ledger_journalentry e ON e.id = l.entry_id AND e.status = 'posted'
              {BATCH_JOIN} JOIN ledger_account a ON a.id = l.account_id
              JOIN periods_entityperiod ep ON ep.entity_id = l.entity_id AND ep.period_id = l.period_id
             WHERE ep.id = %(ep)s AND {POSTED_AT} < %(at)s GROUP BY 1, 2 ORDER BY 1, 2""", {"ep": ep, "at": lock_at})
        got = [(r[0], r[1], Decimal(r[2]), Decimal(r[3]), int(r[4])) for r in tb]
        # Balance rows of accounts whose every line came later are absent from the recomputation.
        got_nonempty = [g for g in got if g[4]]
        want = [(c, cur, Decimal(a), Decimal(f), int(n)) for c, cur, a, f, n in expected]
        if got_nonempty != want or line_count != sum(w[4] for w in want):
            mismatched += 1
            report.violate("snapshot_mismatch", f"snapshot {sid} of entity-period {ep}: locked figures {got_nonempty} "
                                                f"≠ lines posted before the lock {want}")
    report.figures["periods"] = {"transitions": len(history), "locks": locks, "snapshots": len(snapshots),
                                 "snapshots_mismatched": mismatched, "entries_in_closed_intervals": inside}


def _check_locks(report: Report, stack: Stack) -> None:
    """Every locked entity-period still matches the snapshot the database took at its lock."""
    out = stack.manage("verify_locks", check=False, timeout=300)
    if out.returncode != 0:
        report.violate("lock_snapshot", (out.stderr or out.stdout).strip()[-500:])
    report.figures["verify_locks"] = out.stdout.strip()[-200:]


def _check_audit(report: Report, db, stack: Stack) -> None:
    if not _rows(db, "SELECT to_regclass('audit_event') IS NOT NULL")[0][0]:
        report.notes.append("audit: audit_event does not exist yet (issue 5): chain not checked")
        report.figures["audit"] = {"present": False}
        return
    out = stack.manage("verify_audit", check=False, timeout=300)
    intact = out.returncode == 0
    if not intact:
        report.violate("audit_chain", (out.stderr or out.stdout).strip()[-500:])
    audited = {r[0] for r in _rows(db, """
        SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.proname = 'audit_capture'""")}
    fig = {"present": True, "chain_intact": intact, "verify_audit": out.stdout.strip()[-300:],
           "events": _rows(db, "SELECT count(*) FROM audit_event")[0][0]}
    for table, object_type in (("ledger_journalentry", None), ("ledger_journalline", None),
                               ("periods_entityperiod", None)):
        if table not in audited:
            fig[f"covers:{table}"] = "not audited"
            report.notes.append(f"audit: {table} has no audit trigger yet: its changes are not in the chain")
            continue
        missing = _rows(db, f"""
            SELECT count(*) FROM {table} r WHERE NOT EXISTS (
              SELECT 1 FROM audit_event ev WHERE ev.object_id = r.id::text AND ev.action = 'insert'
                 AND ev.object_type IN (%(t)s, %(t2)s))
              AND NOT EXISTS (
              SELECT 1 FROM audit_event ev WHERE ev.action = 'bulk_insert' AND ev.object_type IN (%(t)s, %(t2)s)
                 AND r.id BETWEEN (ev.changes ->> 'min_id')::bigint AND (ev.changes ->> 'max_id')::bigint)""",
                        {"t": table, "t2": table.replace("_", ".", 1)})[0][0]
        fig[f"covers:{table}"] = "every row" if missing == 0 else f"{missing} rows without an insert event"
        if missing and table != "periods_entityperiod":
            report.violate("audit_coverage", f"{missing} rows of {table} have no insert event")
    _check_audit_transitions(report, db, audited, fig)
    report.figures["audit"] = fig


def _check_audit_transitions(report: Report, db, audited: set[str], fig: dict) -> None:
    """State changes, not only rows: each posted entry has the event that made it posted, and each
    entity-period has one event per state transition its history records."""
    if "ledger_journalentry" in audited:
        unposted = _rows(db, """
            SELECT count(*) FROM ledger_journalentry e WHERE e.status = 'posted' AND NOT EXISTS (
              SELECT 1 FROM audit_event ev WHERE ev.object_id = e.id::text
                 AND ev.object_type IN ('ledger_journalentry', 'ledger.journalentry')
                 AND ev.action IN ('insert', 'update') AND ev.changes -> 'after' ->> 'status' = 'posted')
               -- a bulk posting (imports, eliminations) inserts its entries posted, under one summary event
               AND NOT EXISTS (
              SELECT 1 FROM audit_event ev WHERE ev.action = 'bulk_insert'
                 AND ev.object_type IN ('ledger_journalentry', 'ledger.journalentry')
                 AND e.id BETWEEN (ev.changes ->> 'min_id')::bigint AND (ev.changes ->> 'max_id')::bigint)""")[0][0]
        fig["covers:posting"] = "every posted entry" if not unposted else f"{unposted} postings without an event"
        if unposted:
            report.violate("audit_coverage", f"{unposted} posted entries have no event recording the posting")
    if "periods_entityperiod" in audited:
        diff = _rows(db, """
            WITH h AS (SELECT id, count(DISTINCT changed_at) AS n FROM periods_historicalentityperiod
                        WHERE changed_at IS NOT NULL GROUP BY id),
                 ev AS (SELECT object_id::bigint AS id, count(*) AS n FROM audit_event
                         WHERE object_type IN ('periods_entityperiod', 'periods.entityperiod') AND action = 'update'
                           AND changes -> 'after' ? 'state' GROUP BY 1)
            SELECT count(*) FROM h FULL JOIN ev USING (id) WHERE h.n IS DISTINCT FROM ev.n""")[0][0]
        fig["covers:period_transitions"] = "every transition" if not diff else f"{diff} periods differ"
        if diff:
            report.violate("audit_coverage", f"{diff} entity-periods: audit events ≠ recorded state transitions")


def _check_balances_verify(report: Report, org: int) -> None:
    from ledger.selectors.reports import balances_verify
    from sheshi.db.context import system_context

    with system_context("reliability-check"):
        diffs = balances_verify(organisation_id=org)
    for d in diffs[:20]:
        report.violate("balance_mismatch", f"stored balance differs from its lines: {d}")
    report.figures["balances_verify_differences"] = len(diffs)


def _check_reads(report: Report, records: list[dict]) -> None:
    reads = [r for r in records if r["kind"] == "tb_read" and r["outcome"] == "ok"]
    bad = [r for r in reads if Decimal(r["total_debit"]) != Decimal(r["total_credit"]) or not r["reconciles"]]
    for r in bad[:20]:
        report.violate("tb_not_zero", f"{r['entity']} {r['period']}: {r['total_debit']} ≠ {r['total_credit']}")
    report.figures["tb_reads"] = {"ok": len(reads), "not_summing_to_zero": len(bad)}


def _job_fault_figures(db, ev: FaultEvent, jobs: dict[str, dict]) -> dict:
    """The cluster's fault: jobs enqueued before the kill and not finished by then were queued or
    running; each must end finished (or still queued) with its entry at most once."""
    t = ev.at
    hit = {k: j for k, j in jobs.items() if j["enqueued_at"] <= t and (j["stopped"] is None or j["stopped"] > t)}
    done = _rows(db, "SELECT extract(epoch FROM min(stopped)) FROM django_q_task WHERE stopped > to_timestamp(%(t)s)",
                 {"t": ev.extra.get("restarted_at", t)})[0][0]
    finished = [j for j in hit.values() if j["success"] is not None]
    return {"fault": ev.name, "detail": ev.detail, "at": t, "in_flight": len(hit),
            "unknown_keys": len(hit) - len(finished),
            "resolved_present": sum(1 for j in hit.values() if j["present"]),
            "resolved_absent": sum(1 for j in hit.values() if not j["present"]),
            "lost": sum(1 for j in finished if j["success"] and not j["present"]),
            "duplicated": sum(1 for j in hit.values() if j["present"] > 1),
            "recover_s": None if done is None else round(float(done) - t, 2), "extra": ev.extra}


def _fault_figures(ev: FaultEvent, records: list[dict], posts: dict[str, dict]) -> dict:
    """In flight at the fault, their unknown outcomes, how they resolved, and the recovery time."""
    t = ev.at
    writes = [r for r in records if r["kind"] == "post"]
    in_flight = [r for r in records if r["t0"] <= t <= r["t1"]]
    first_ok = min((r["t1"] for r in writes if r["outcome"] == "ok" and r["t0"] >= t), default=None)
    recovered = ev.recovered_at or first_ok
    window_end = (recovered or t) + 0.5
    affected = [r for r in writes if (r["t0"] <= t <= r["t1"]) or (t <= r["t0"] <= window_end)]
    unknown = [r for r in affected if r["outcome"] == "unknown"]
    keys = {r["key"] for r in unknown}
    present = sum(1 for k in keys if posts[k]["present"])
    lost = sum(1 for k in {r["key"] for r in affected} if posts[k]["acked"] and not posts[k]["present"])
    duplicated = sum(1 for k in {r["key"] for r in affected} if posts[k]["present"] > 1)
    return {"fault": ev.name, "detail": ev.detail, "at": t, "in_flight": len(in_flight), "unknown": len(unknown),
            "unknown_keys": len(keys), "resolved_present": present, "resolved_absent": len(keys) - present,
            "lost": lost, "duplicated": duplicated,
            "recover_s": None if recovered is None else round(recovered - t, 2), "extra": ev.extra}
