"""Kill the django-q2 cluster while a chosen job is mid-way through its last transaction.

No hook in the application: the injector, as the schema owner, holds a row lock that only the
victim's final transaction needs, waits until the victim's backend is blocked on it
(``pg_blocking_pids``), kills -9 the cluster's process group, and lets go. The victim's backend
then finds its client gone and rolls back; the broker hands the task out again after ``Q_RETRY``
and the service restarts a job older than ``Q_TIMEOUT``.

* consolidation: a second run of a period whose eliminations stand; the injector holds the
  elimination ledger's balance rows of that period, so the victim blocks after writing the
  reversal of the standing set and before posting its own (the worst moment to stop);
* import: a 6,000-row file (a job); once its batch is running, the injector holds the batch row,
  so the victim blocks in its final UPDATE with every line of the file inserted.
"""
from __future__ import annotations

import hashlib
import time
from decimal import Decimal

import requests

from tests.reliability.faults import FaultEvent

PERIOD = "2026-01"
IMPORT_DOCUMENTS = 3000


def _wait(pred, timeout: float, step: float = 0.02):
    end = time.time() + timeout
    while time.time() < end:
        value = pred()
        if value:
            return value
        time.sleep(step)
    return None


def _blocked_by(admin, pid: int) -> list[int]:
    return [r[0] for r in admin.execute("SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                                        [pid]).fetchall()]


def _running(db) -> dict[str, list[int]]:
    runs = [r[0] for r in db.execute("SELECT id FROM consolidation_consolidationrun WHERE status = 'running'")]
    batches = [r[0] for r in db.execute("SELECT id FROM ledger_importbatch WHERE status = 'running'")]
    return {"running_runs": runs, "running_batches": batches}


def _kill_and_restart(inj, name: str, detail: str, extra: dict, db, admin, me: int) -> FaultEvent:
    blocked = _wait(lambda: _blocked_by(admin, me), 60)
    if not blocked:
        raise RuntimeError(f"{name}: the job never reached the held row")
    extra.update(_running(db), blocked_backends=blocked)
    t = time.time()
    pid = inj.stack.qcluster.pid if inj.stack.qcluster else None
    inj.stack.kill_qcluster()
    return FaultEvent(name, t, f"kill -9 the qcluster {pid} with {detail}; restarted after 1 s", extra=extra)


def _post(inj, token: str, path: str, **kw):
    t0 = time.time()
    resp = requests.post(inj.base_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30, **kw)
    return resp, t0, time.time()


def consolidation_kill(inj) -> FaultEvent:
    s, stack = inj.seeded, inj.stack
    token = s.tokens["controller"]
    with stack.owner() as db, stack.admin() as admin:
        period_id = db.execute("SELECT id FROM periods_period WHERE organisation_id = %s AND code = %s",
                               [s.organisation_id, PERIOD]).fetchone()[0]

        def request_run() -> int:
            resp, t0, t1 = _post(inj, token, "/api/v1/consolidation-runs/", json={"group": s.group_id,
                                                                                   "period": PERIOD})
            resp.raise_for_status()
            inj.recorder.add(kind="consolidation", client="faults", period=PERIOD, t0=t0, t1=t1, outcome="ok",
                             code="", status=resp.status_code, run_id=resp.json()["id"])
            return resp.json()["id"]

        def elimination_entity():
            return db.execute("SELECT elimination_entity_id FROM consolidation_consolidationgroup WHERE id = %s",
                              [s.group_id]).fetchone()[0]

        def standing() -> bool:
            elim = elimination_entity()
            return bool(elim) and bool(db.execute(
                "SELECT 1 FROM ledger_balance WHERE entity_id = %s AND period_id = %s", [elim, period_id]).fetchone())

        if not standing():  # a first run posts the set the victim must replace
            first = request_run()
            _wait(lambda: db.execute("SELECT status IN ('succeeded', 'failed') FROM consolidation_consolidationrun "
                                     "WHERE id = %s", [first]).fetchone()[0], 60, 0.2)
        with db.transaction():
            me = db.execute("SELECT pg_backend_pid()").fetchone()[0]
            held = db.execute("SELECT id FROM ledger_balance WHERE entity_id = %s AND period_id = %s ORDER BY id "
                              "FOR NO KEY UPDATE", [elimination_entity(), period_id]).fetchall()
            where = "its reversal of the standing eliminations written, its own set not yet"
            if not held:
                db.execute("SELECT id FROM consolidation_consolidationgroup WHERE id = %s FOR NO KEY UPDATE",
                           [s.group_id])
                where = "nothing of its last transaction written yet"
            victim = request_run()
            ev = _kill_and_restart(inj, "consolidation_kill", f"run {victim} blocked mid-transaction ({where})",
                                   {"victim_run": victim, "period": PERIOD}, db, admin, me)
    time.sleep(1.0)
    stack.start_qcluster()
    ev.extra["restarted_at"] = time.time()
    return ev


def import_kill(inj) -> FaultEvent:
    s, stack = inj.seeded, inj.stack
    from tests.reliability.clients import POSTING_ACCOUNTS

    with stack.owner() as db, stack.admin() as admin:
        row = db.execute("""
            SELECT e.code, p.code FROM periods_entityperiod ep JOIN tenancy_entity e ON e.id = ep.entity_id
              JOIN periods_period p ON p.id = ep.period_id
             WHERE ep.organisation_id = %s AND ep.state = 'open' AND e.code LIKE 'REL-_' AND p.code LIKE '2026-0%%'
             ORDER BY random() LIMIT 1""", [s.organisation_id]).fetchone()
        if row is None:
            raise RuntimeError("import_kill: no open entity-period to import into")
        entity, period = row
        key = f"fault-import-{int(time.time() * 1000)}"
        lines, debits = ["Date,Reference,Account,Amount,Description"], Decimal(0)
        for d in range(1, IMPORT_DOCUMENTS + 1):
            amount = Decimal(d) + Decimal("0.01")
            a, b = POSTING_ACCOUNTS[d % 3], POSTING_ACCOUNTS[3 + d % 3]
            lines += [f"{period}-15,D{d},{a},{amount},imp:{key} doc {d} row 1",
                      f"{period}-15,D{d},{b},{-amount},imp:{key} doc {d} row 2"]
            debits += amount
        content = ("\n".join(lines) + "\n").encode()
        resp, t0, t1 = _post(inj, s.tokens["importer"], "/api/v1/import-batches/",
                             files={"file": (f"{key}.csv", content, "text/csv")},
                             data={"entity": entity, "period": period, "source_system": str(s.source_system_id)})
        data = resp.json() if resp.status_code < 300 else {}
        inj.recorder.add(kind="import", client="faults", key=key, sha256=hashlib.sha256(content).hexdigest(),
                         entity=entity, period=period, rows=len(lines) - 1, debits=str(debits), size=len(content),
                         duplicate_of="", attempt=1, t0=t0, t1=t1, outcome="ok" if data else "failed",
                         code="" if data else str(resp.status_code), status=resp.status_code,
                         batch_id=data.get("id"), batch_status=data.get("status"), queued=resp.status_code == 202)
        if resp.status_code != 202:
            raise RuntimeError(f"import_kill: upload answered {resp.status_code}")
        batch = data["id"]
        status = _wait(lambda: db.execute("SELECT status FROM ledger_importbatch WHERE id = %s AND status <> "
                                          "'pending'", [batch]).fetchone(), 60, 0.01)
        if status is None or status[0] != "running":
            raise RuntimeError(f"import_kill: batch {batch} went {status} before it could be held")
        with db.transaction():
            me = db.execute("SELECT pg_backend_pid()").fetchone()[0]
            db.execute("SELECT id FROM ledger_importbatch WHERE id = %s FOR NO KEY UPDATE", [batch])
            ev = _kill_and_restart(inj, "import_kill", f"import batch {batch} ({len(lines) - 1} rows, {entity} "
                                   f"{period}) blocked in its final UPDATE, every line inserted",
                                   {"victim_batch": batch, "victim_key": key}, db, admin, me)
    time.sleep(1.0)
    stack.start_qcluster()
    ev.extra["restarted_at"] = time.time()
    return ev


def figures(db, ev: FaultEvent, runs: dict[int, dict], files: dict[str, dict]) -> dict:
    """Jobs running at the kill: how they ended (finished on retry: present; refused or never
    finished: absent); lost = finished as succeeded/posted without its entries, duplicated = more
    lines than the file or more live eliminations than the run; recovery = the kill to the
    victim's end."""
    from tests.reliability.checks_consolidation import live_eliminations

    x = ev.extra
    run_ids, batch_ids = x.get("running_runs", []), x.get("running_batches", [])
    batches = {r[0]: r[1:] for r in db.execute("""
        SELECT b.id, b.status, extract(epoch FROM b.finished_at), b.row_count,
               (SELECT count(*) FROM ledger_journalline l JOIN ledger_journalentry e ON e.id = l.entry_id
                 WHERE e.import_batch_id = b.id AND e.status = 'posted')
          FROM ledger_importbatch b WHERE b.id = ANY(%s)""", [batch_ids]).fetchall()}
    ended = present = lost = duplicated = 0
    for i in batch_ids:
        status, _, rows, lines = batches.get(i, ("", None, 0, 0))
        ended += status in ("posted", "rejected", "failed")
        present += status == "posted"
        lost += status == "posted" and lines < rows
        duplicated += lines > rows
    live = {}
    for i in run_ids:
        run = runs.get(i, {})
        ended += run.get("status") in ("succeeded", "failed")
        present += run.get("status") == "succeeded"
        if run.get("status") == "succeeded" and run["posted"]:
            if not live:
                live = live_eliminations(db, run["group_id"])[1]
            found = db.execute("SELECT count(*) FROM ledger_journalentry WHERE id = ANY(%s) AND status = 'posted'",
                               [run["posted"]]).fetchone()[0]
            lost += found < len(run["posted"])
            duplicated += len(live.get(run["period_id"], [])) > len(run["posted"])
    if "victim_run" in x:
        end = runs.get(x["victim_run"], {}).get("finished_at")
    else:
        end = batches.get(x.get("victim_batch"), ("", None))[1]
    return {"fault": ev.name, "detail": ev.detail, "at": ev.at, "in_flight": len(run_ids) + len(batch_ids),
            "unknown_keys": len(run_ids) + len(batch_ids) - ended, "resolved_present": present,
            "resolved_absent": ended - present, "lost": lost, "duplicated": duplicated,
            "recover_s": None if end is None else round(float(end) - ev.at, 2), "extra": x}
