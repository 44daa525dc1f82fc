"""Checker rules for consolidation runs and the group's elimination ledger.

* every accepted run ends ``succeeded`` (or ``failed`` with an expected code), never left queued
  or running after the queue drained;
* per group and period, the elimination ledger holds exactly one live (unreversed) set of
  elimination entries: the set of the run that posted last, equal by account to that run's
  eliminations; every entry there belongs to a run (posted or reversal), none stands twice;
* a succeeded run's stored results equal a recomputation: the members' trial balances it read are
  rebuilt from the ledger's committed entries, the inputs' fingerprint sections must equal the
  stored ones, and the engine run again on them must give the stored results exactly.

Which entries a run read is not recorded, only when: entries posted well before its start were
committed when it read; entries posted after it finished were not; the few in between (posted
during its read, or whose transaction was still open) are found by a meet-in-the-middle search
for the subset whose per-account sums give the member's stored balances. A window with more than
``MAX_OPTIONAL`` such entries per member is counted as not recomputed (a figure, not a violation).
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace
from decimal import Decimal
from itertools import combinations

# A posting transaction stamps posted_at before it commits; this bounds how long before.
COMMIT_SLACK_S = 5.0
MAX_OPTIONAL = 26
EXPECTED_RUN_FAILURES: frozenset[str] = frozenset()  # the seeded group is complete: no failure is expected


def _rows(conn, sql: str, params=None) -> list[tuple]:
    return conn.execute(sql, params or {}).fetchall()


def _epoch(value) -> float | None:
    return None if value is None else float(value)


def check_consolidation(report, db, records: list[dict], group_id: int) -> dict[int, dict]:
    accepted = {r["run_id"] for r in records if r["kind"] == "consolidation" and r["outcome"] == "ok"}
    runs = {r[0]: {"id": r[0], "status": r[1], "code": r[2], "period_id": r[3], "posted": list(r[4] or []),
                   "reversed": list(r[5] or []), "posting_error": r[6], "started_at": _epoch(r[7]),
                   "finished_at": _epoch(r[8]), "attempt": r[9], "group_id": group_id}
            for r in _rows(db, """
        SELECT id, status, error ->> 'code', period_id, posted_entry_ids, reversal_entry_ids, posting_error,
               extract(epoch FROM started_at), extract(epoch FROM finished_at), attempt
          FROM consolidation_consolidationrun WHERE group_id = %(g)s""", {"g": group_id})}
    fig = Counter(requested=len(accepted))
    for run_id in sorted(accepted):
        run = runs.get(run_id, {})
        state, code = run.get("status"), run.get("code")
        if state in ("succeeded", "failed"):
            fig[state] += 1
            if code:
                fig[f"failed_code:{code}"] += 1
            if state == "failed" and code not in EXPECTED_RUN_FAILURES:
                report.violate("consolidation_failed", f"run {run_id} failed with {code!r}")
            if run.get("attempt", 1) > 1:
                fig["restarted"] += 1
        else:
            fig["stuck"] += 1
            report.violate("job_stuck", f"consolidation run {run_id} is {state} after the queue drained")
    _check_elimination_ledger(report, db, runs, group_id, fig)
    report.figures["consolidation"] = dict(fig)
    return runs


RUN_SOURCES = ("elimination", "translation")  # what runs post in the group's consolidation ledger


def live_eliminations(db, group_id: int) -> tuple[int | None, dict[int, list[int]], set[int], set[int]]:
    """The group's elimination ledger: live elimination entries per period, and every elimination
    and reversal entry there."""
    elim = _rows(db, "SELECT elimination_entity_id FROM consolidation_consolidationgroup WHERE id = %(g)s",
                 {"g": group_id})[0][0]
    if elim is None:
        return None, {}, set(), set()
    live: dict[int, list[int]] = defaultdict(list)
    eliminations, reversals = set(), set()
    for eid, period_id, source, reversed_ in _rows(db, """
        SELECT e.id, e.period_id, e.source, EXISTS (SELECT 1 FROM ledger_journalentry r
                                                     WHERE r.reverses_id = e.id AND r.status = 'posted')
          FROM ledger_journalentry e WHERE e.entity_id = %(e)s AND e.status = 'posted' ORDER BY e.id""", {"e": elim}):
        if source in RUN_SOURCES:
            eliminations.add(eid)
            if not reversed_:
                live[period_id].append(eid)
        elif source == "reversal":
            reversals.add(eid)
        # manual adjustments (source manual) are a controller's, not a run's: they stand across runs
    return elim, live, eliminations, reversals


def _check_elimination_ledger(report, db, runs: dict[int, dict], group_id: int, fig: Counter) -> None:
    _, live, eliminations, reversals = live_eliminations(db, group_id)
    posted_by_runs = {e for r in runs.values() for e in r["posted"]}
    reversed_by_runs = {e for r in runs.values() for e in r["reversed"]}
    for eid in sorted(eliminations - posted_by_runs):
        report.violate("elimination_orphan", f"elimination entry {eid} belongs to no run")
    for eid in sorted(reversals - reversed_by_runs):
        report.violate("elimination_orphan", f"reversal entry {eid} in the elimination ledger belongs to no run")
    posting = defaultdict(list)  # period -> succeeded runs that posted, in posting order
    for r in runs.values():
        if r["status"] == "succeeded" and r["posted"]:
            posting[r["period_id"]].append(r)
    for period_id in sorted(set(posting) | set(live)):
        candidates = sorted(posting.get(period_id, []), key=lambda r: max(r["posted"]))
        standing = live.get(period_id, [])
        last = candidates[-1] if candidates else None
        fig["periods_with_eliminations"] += 1
        if last is None or sorted(last["posted"]) != standing:
            report.violate("elimination_sets", f"period {period_id}: live elimination entries {standing} ≠ the "
                                               f"last posting run's {last and sorted(last['posted'])}")
            continue
        got = dict(_rows(db, """
            SELECT a.code, sum(l.functional_amount)
              FROM ledger_journalline l JOIN ledger_account a ON a.id = l.account_id
             WHERE l.entry_id = ANY(%(ids)s) GROUP BY 1 HAVING sum(l.functional_amount) <> 0""", {"ids": standing}))
        results = _rows(db, "SELECT results FROM consolidation_consolidationrun WHERE id = %(r)s",
                        {"r": last["id"]})[0][0]
        if {k: Decimal(v) for k, v in got.items()} != eliminations_by_account(results):
            report.violate("elimination_sets", f"period {period_id}: live eliminations by account {got} ≠ run "
                                               f"{last['id']}'s {eliminations_by_account(results)}")
    fig["live_elimination_entries"] = sum(len(v) for v in live.values())


def eliminations_by_account(results: dict) -> dict[str, Decimal]:
    """What a run posts, by account: its translation, elimination and rounding journals
    (consolidation/selectors/journals.py); results holding eliminations only count those."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    if "members_order" in results:
        from consolidation.selectors.journals import run_journals

        for journal in run_journals(results).to_post():
            for _member, account, amount in journal.lines:
                out[account] += amount
    else:
        for elim in results.get("eliminations", []):
            for p in elim["postings"]:
                out[p["account"]] += Decimal(p["amount"])
    return {k: v for k, v in out.items() if v != 0}


# --- recomputation ---------------------------------------------------------------------------------


def recompute_runs(report, db, runs: dict[int, dict], group_id: int) -> None:
    """Rebuild each succeeded run's inputs from the ledger and run the engine again (Django, system scope)."""
    from consolidation.models import ConsolidationGroup
    from periods.models import Period
    from sheshi.db.context import system_context

    fig = Counter()
    with system_context("reliability-check"):
        group = ConsolidationGroup.objects.select_related("organisation").get(pk=group_id)
        for run in sorted((r for r in runs.values() if r["status"] == "succeeded"), key=lambda r: r["id"]):
            period = Period.objects.select_related("fiscal_year").get(pk=run["period_id"])
            outcome, detail = recompute_run(db, group, period, run)
            fig[outcome] += 1
            if outcome == "mismatch":
                report.violate("consolidation_recompute", f"run {run['id']}: {detail}")
    report.figures.setdefault("consolidation", {}).update(
        recomputed_equal=fig["equal"], recompute_mismatch=fig["mismatch"], not_recomputed_busy=fig["busy"])


def _member_entries(db, group, period, members: dict[int, str]) -> dict[str, list[tuple[int, float, dict]]]:
    """Per member: (entry id, posted_at, {(account, counterparty or None): amount}) of every posted
    entry that counts in the period's TB (balance sheet from inception, P&L from the year's start)."""
    out: dict[str, dict[int, tuple[float, dict]]] = defaultdict(dict)
    for entity_id, eid, posted_at, account, split, cp, amount in _rows(db, """
        SELECT l.entity_id, e.id, extract(epoch FROM e.posted_at), a.code, a.is_intercompany OR a.role = 'investment',
               l.counterparty_id, l.functional_amount
          FROM ledger_journalline l JOIN ledger_journalentry e ON e.id = l.entry_id AND e.status = 'posted'
          JOIN periods_period p ON p.id = l.period_id JOIN ledger_account a ON a.id = l.account_id
         WHERE l.entity_id = ANY(%(ids)s) AND p.end_date <= %(end)s
           AND (a.type IN ('asset', 'liability', 'equity') OR p.start_date >= %(fy)s)""",
                                                                     {"ids": list(members), "end": period.end_date,
                                                                      "fy": period.fiscal_year.start_date}):
        _, parts = out[members[entity_id]].setdefault(eid, (float(posted_at), defaultdict(Decimal)))
        parts[(account, cp if split else None)] += Decimal(amount)
    return {m: [(eid, at, dict(parts)) for eid, (at, parts) in sorted(d.items())] for m, d in out.items()}


def _by_account(parts: dict) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for (account, _), amount in parts.items():
        out[account] += amount
    return out


def find_subset(need: dict[str, Decimal], optional: list[dict[str, Decimal]]) -> list[int] | None:
    """Indexes of the optional entries whose per-account sums give ``need`` (meet in the middle)."""
    accounts = sorted({a for v in optional for a in v} | set(need))
    vec = [tuple(v.get(a, Decimal(0)) for a in accounts) for v in optional]
    target = tuple(need.get(a, Decimal(0)) for a in accounts)
    half = len(vec) // 2
    left, right = list(range(half)), list(range(half, len(vec)))

    def sums(idx):
        for n in range(len(idx) + 1):
            for combo in combinations(idx, n):
                yield combo, tuple(sum((vec[i][k] for i in combo), Decimal(0)) for k in range(len(accounts)))

    table = {}
    for combo, total in sums(right):
        table.setdefault(total, combo)
    for combo, total in sums(left):
        rest = tuple(t - s for t, s in zip(target, total, strict=True))
        if rest in table:
            return [*combo, *table[rest]]
    return None


def recompute_run(db, group, period, run: dict) -> tuple[str, str]:
    from consolidation.engine import consolidate
    from consolidation.engine import types as et
    from consolidation.engine.fingerprint import fingerprint_sections
    from consolidation.selectors import runs as selectors

    stored = _rows(db, "SELECT results, fingerprint_sections FROM consolidation_consolidationrun WHERE id = %(r)s",
                   {"r": run["id"]})[0]
    results, sections = stored
    inputs = selectors.engine_inputs_get(group=group, period=period)
    members = {m.entity_id: m.entity.code for m in selectors.group_members_at(group=group, on=period.end_date)}
    codes = dict(group.organisation.entities.values_list("id", "code"))
    entries = _member_entries(db, group, period, members)
    lines = []
    for member, rows in sorted(entries.items()):
        certain = [parts for _, at, parts in rows if at < run["started_at"] - COMMIT_SLACK_S]
        optional = [parts for _, at, parts in rows
                    if run["started_at"] - COMMIT_SLACK_S <= at <= run["finished_at"]]
        if len(optional) > MAX_OPTIONAL:
            return "busy", f"{member}: {len(optional)} entries posted around the run"
        base: dict[str, Decimal] = defaultdict(Decimal)
        for parts in certain:
            for account, amount in _by_account(parts).items():
                base[account] += amount
        target = {a: Decimal(v[0]) for a, v in results["member_balances"].get(member, {}).items()}
        need = {a: target.get(a, Decimal(0)) - base.get(a, Decimal(0)) for a in set(target) | set(base)}
        chosen = find_subset({a: v for a, v in need.items() if v}, [_by_account(p) for p in optional])
        if chosen is None:
            return "mismatch", f"no set of committed entries of {member} gives the balances the run stored"
        totals: dict[tuple, Decimal] = defaultdict(Decimal)
        for parts in [*certain, *(optional[i] for i in chosen)]:
            for key, amount in parts.items():
                totals[key] += amount
        lines += [et.TBLine(entity=member, account=a, amount=v, counterparty=codes.get(cp) if cp else None)
                  for (a, cp), v in sorted(totals.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)) if v != 0]
    rebuilt = replace(inputs, lines=tuple(lines))
    if fingerprint_sections(rebuilt) != sections:
        diff = sorted(k for k in set(sections) | set(fingerprint_sections(rebuilt))
                      if sections.get(k) != fingerprint_sections(rebuilt).get(k))
        return "mismatch", f"the rebuilt inputs differ from the stored fingerprint in {diff}"
    again = json.loads(json.dumps(consolidate(rebuilt).to_dict(), default=str))
    if again != results:
        diff = sorted(k for k in set(again) | set(results) if again.get(k) != results.get(k))
        return "mismatch", f"the engine on the same inputs gives other results in {diff}"
    return "equal", ""
