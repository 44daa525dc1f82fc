"""The workload's clients, each a thread that stops by itself when the run's deadline passes.

Every request is recorded with its real-time interval and outcome: ``ok`` (2xx), ``failed`` (a
definite refusal: 4xx, nothing was written) or ``unknown`` (timeout, connection cut, 5xx: it may or
may not have committed). The checker resolves unknowns against the database afterwards.
"""
from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

import requests

from tests.reliability.seed import ENTITY_CODES, PERIOD_CODES

POSTING_ACCOUNTS = ("1100", "1200", "2100", "3100", "4100", "5100")
DEFINITE_FAILURES = {400, 401, 403, 404, 405, 409, 412, 413, 415, 422, 428, 429}  # answered: nothing was written
# Variants a buggy client sends when the application's validation is switched off (--unsafe).
BAD_VARIANTS = ("unbalanced", "group_account", "zero_lines", "rate_not_one", "unknown_currency", "signs_disagree")


@dataclass
class Recorder:
    records: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **rec) -> dict:
        with self.lock:
            self.records.append(rec)
        return rec


def classify(resp: requests.Response | None, exc: BaseException | None) -> tuple[str, str]:
    if exc is not None:
        return "unknown", type(exc).__name__
    if resp.status_code < 300:
        return "ok", ""
    code = ""
    if resp.headers.get("Content-Type", "").startswith("application/problem+json"):
        try:
            code = resp.json().get("code", "")
        except ValueError:
            code = "unparsable"
    if resp.status_code in DEFINITE_FAILURES:
        return "failed", code or str(resp.status_code)
    return "unknown", code or str(resp.status_code)


class Client(threading.Thread):
    def __init__(self, name: str, base_url: str, token: str, recorder: Recorder, deadline: float, seed: int):
        super().__init__(name=name, daemon=True)
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        self.recorder = recorder
        self.deadline = deadline
        self.rng = random.Random(seed)

    def call(self, method: str, path: str, *, timeout: float = 10.0, **kw):
        t0 = time.time()
        resp = exc = None
        try:
            resp = self.session.request(method, self.base + path, timeout=timeout, **kw)
        except requests.RequestException as e:
            exc = e
            self.session.close()  # never reuse a connection in an unknown state
        outcome, code = classify(resp, exc)
        return resp, outcome, code, t0, time.time()

    def alive(self) -> bool:
        return time.time() < self.deadline


class Poster(Client):
    """Posts entries with post=true and an Idempotency-Key; retries unknown outcomes with the same
    key and body, sometimes replays a success, sometimes gives up early with a short timeout."""

    def __init__(self, *a, run_id: str, unsafe: bool = False, bad_ratio: float = 0.4, **kw):
        super().__init__(*a, **kw)
        self.run_id, self.unsafe, self.bad_ratio = run_id, unsafe, bad_ratio

    def body(self, key: str, variant: str) -> tuple[dict, str]:
        month = self.rng.randrange(1, len(PERIOD_CODES) + 1)
        entry_date = f"2026-{month:02d}-{self.rng.randrange(1, 29):02d}"
        amount = Decimal(self.rng.randrange(1, 10**9)) / 10000
        a, b = self.rng.sample(POSTING_ACCOUNTS, 2)
        lines = [{"account": a, "amount": str(amount)}, {"account": b, "amount": str(-amount)}]
        if variant == "unbalanced":
            lines[1]["amount"] = str(-amount + Decimal("0.01"))
        elif variant == "group_account":
            lines[0]["account"] = "1000"
        elif variant == "zero_lines":
            lines = [{"account": a, "amount": "0"}, {"account": b, "amount": "0"}]
        elif variant == "rate_not_one":
            lines = [{"account": a, "amount": str(amount), "rate": "2", "functional_amount": str(amount)},
                     {"account": b, "amount": str(-amount), "rate": "2", "functional_amount": str(-amount)}]
        elif variant == "unknown_currency":
            lines = [{"account": a, "amount": "10", "currency": "QQQ", "rate": "1.5", "functional_amount": "15"},
                     {"account": b, "amount": "-15"}]
        elif variant == "signs_disagree":
            lines = [{"account": a, "amount": "10", "currency": "USD", "rate": "1", "functional_amount": "-10"},
                     {"account": b, "amount": "10"}]
        entity = self.rng.choice(ENTITY_CODES)
        return ({"entity": entity, "entry_date": entry_date, "description": f"rel:{key}", "lines": lines,
                 "post": True}, f"2026-{month:02d}")

    def run(self) -> None:
        n = 0
        while self.alive():
            n += 1
            key = f"{self.run_id}-{self.name}-{n}"
            variant = self.rng.choice(BAD_VARIANTS) if self.unsafe and self.rng.random() < self.bad_ratio else ""
            body, period = self.body(key, variant)
            for attempt in range(1, 4):
                # One request in seven gives up early: an unknown outcome by construction.
                timeout = self.rng.uniform(0.02, 0.3) if self.rng.random() < 1 / 7 else 10.0
                resp, outcome, code, t0, t1 = self.call("POST", "/api/v1/journal-entries/", json=body,
                                                        headers={"Idempotency-Key": key}, timeout=timeout)
                data = resp.json() if outcome == "ok" else {}
                self.recorder.add(kind="post", client=self.name, key=key, attempt=attempt, entity=body["entity"],
                                  period=period, variant=variant, t0=t0, t1=t1, outcome=outcome, code=code,
                                  status=resp.status_code if resp is not None else None, entry_id=data.get("id"),
                                  replayed=bool(resp is not None and resp.headers.get("Idempotent-Replayed")))
                if outcome == "ok" and self.rng.random() < 0.05 and attempt < 3:
                    continue  # replay a success: must return the same entry, marked as a replay
                if outcome != "unknown" or self.rng.random() < 0.2 or not self.alive():
                    break
                time.sleep(self.rng.uniform(0.05, 0.4))


class Reader(Client):
    """Pulls trial balances; each one must sum to zero."""

    def run(self) -> None:
        while self.alive():
            entity, period = self.rng.choice(ENTITY_CODES), self.rng.choice(PERIOD_CODES)
            params = {"entity": entity, "period": period}
            if self.rng.random() < 0.3:
                params["as_of"] = f"{period}-{self.rng.randrange(1, 29):02d}"
            resp, outcome, code, t0, t1 = self.call("GET", "/api/v1/reports/trial-balance/", params=params)
            rec = {"kind": "tb_read", "client": self.name, "entity": entity, "period": period, "t0": t0, "t1": t1,
                   "outcome": outcome, "code": code, "status": resp.status_code if resp is not None else None}
            if outcome == "ok":
                data = resp.json()
                rec.update(total_debit=data["total_debit"], total_credit=data["total_credit"],
                           reconciles=data["reconciles"])
            self.recorder.add(**rec)
            time.sleep(self.rng.uniform(0.02, 0.1))


class Controller(Client):
    """Moves entity-periods open → soft-closed → locked → reopened, through the periods API."""

    def __init__(self, *a, entity_periods: dict[tuple[str, str], int], group_id: int = 0, **kw):
        super().__init__(*a, **kw)
        self.entity_periods, self.group_id = entity_periods, group_id

    def consolidate(self) -> None:
        """Request a consolidation run (a django-q2 job); the checker follows it to its end."""
        period = self.rng.choice(PERIOD_CODES)
        resp, outcome, code, t0, t1 = self.call("POST", "/api/v1/consolidation-runs/",
                                                json={"group": self.group_id, "period": period})
        self.recorder.add(kind="consolidation", client=self.name, period=period, t0=t0, t1=t1, outcome=outcome,
                          code=code, status=resp.status_code if resp is not None else None,
                          run_id=resp.json().get("id") if outcome == "ok" else None)

    def run(self) -> None:
        n = 0
        keys = sorted(self.entity_periods)
        while self.alive():
            n += 1
            if self.group_id and n % 4 == 0:
                self.consolidate()
            entity, period = self.rng.choice(keys)
            ep = self.entity_periods[(entity, period)]
            resp, outcome, code, t0, t1 = self.call("GET", f"/api/v1/entity-periods/{ep}/")
            if outcome != "ok":
                time.sleep(0.2)
                continue
            state = resp.json()["state"]
            action, body = {"open": ("soft-close", {"reason": f"soft close #{n}"}),
                            "soft_closed": ("lock", {"reason": f"lock #{n}"}),
                            "locked": ("reopen", {"reason": f"reopen #{n}: reliability controller", "to": "open"}),
                            }[state]
            # A change needs the version it was decided on (If-Match: 428 without, 412 if it moved since).
            resp, outcome, code, t0, t1 = self.call("POST", f"/api/v1/entity-periods/{ep}/{action}/", json=body,
                                                    headers={"If-Match": resp.headers.get("ETag", "")})
            self.recorder.add(kind="period", client=self.name, action=action, entity=entity, period=period,
                              entity_period=ep, t0=t0, t1=t1, outcome=outcome, code=code,
                              status=resp.status_code if resp is not None else None)
            # Locked periods stay locked a while so that posters really collide with them.
            time.sleep(self.rng.uniform(0.3, 1.2) if action == "lock" else self.rng.uniform(0.05, 0.4))


IMPORT_FINAL = {"posted", "rejected", "failed", "superseded"}


class Importer(Client):
    """Uploads small generated GL files (``POST /api/v1/import-batches/``, multipart, the seeded
    source system's mapping), each with content of its own (``imp:<key>`` in every description),
    so that the duplicate-file refusal only trips where it is meant to: an unknown outcome is
    retried with the same bytes (the retry must be refused as a duplicate if the first attempt
    committed), and one upload in eight deliberately re-sends an earlier file. One file in
    ``big_every`` is larger than the server's inline limit and runs as a django-q2 job (202),
    which the importer follows until it ends."""

    def __init__(self, *a, run_id: str, source_system: int, big_every: int = 3, **kw):
        super().__init__(*a, **kw)
        self.run_id, self.source_system, self.big_every = run_id, source_system, big_every
        self.sent: list[tuple[str, str, str, bytes]] = []  # (key, entity, period, content) uploaded

    def content(self, key: str, period: str, documents: int) -> tuple[bytes, int, Decimal]:
        """A GL file: ``documents`` balanced documents of two or three rows. Returns the bytes, the
        row count and the sum of the debits."""
        rows, debits = ["Date,Reference,Account,Amount,Description"], Decimal(0)
        for d in range(1, documents + 1):
            day = f"{period}-{self.rng.randrange(1, 29):02d}"
            amounts = [Decimal(self.rng.randrange(1, 10**7)) / 100 for _ in range(self.rng.choice((1, 2)))]
            legs = [*amounts, -sum(amounts)]
            accounts = self.rng.sample(POSTING_ACCOUNTS, len(legs))
            for j, (account, amount) in enumerate(zip(accounts, legs, strict=True), 1):
                rows.append(f"{day},D{d},{account},{amount},imp:{key} doc {d} row {j}")
                debits += max(amount, Decimal(0))
        return ("\n".join(rows) + "\n").encode(), len(rows) - 1, debits

    def upload(self, key: str, entity: str, period: str, content: bytes, *, rows: int, debits: Decimal,
               duplicate_of: str = "") -> None:
        sha = hashlib.sha256(content).hexdigest()
        for attempt in range(1, 4):
            timeout = self.rng.uniform(0.05, 0.5) if self.rng.random() < 1 / 7 else 20.0
            resp, outcome, code, t0, t1 = self.call(
                "POST", "/api/v1/import-batches/", timeout=timeout,
                files={"file": (f"{key}.csv", content, "text/csv")},
                data={"entity": entity, "period": period, "source_system": str(self.source_system)})
            data = resp.json() if outcome == "ok" else {}
            rec = self.recorder.add(kind="import", client=self.name, key=key, sha256=sha, entity=entity, period=period,
                                    rows=rows, debits=str(debits), size=len(content), duplicate_of=duplicate_of,
                                    attempt=attempt, t0=t0, t1=t1, outcome=outcome, code=code,
                                    status=resp.status_code if resp is not None else None, batch_id=data.get("id"),
                                    batch_status=data.get("status"), queued=bool(resp is not None
                                                                                 and resp.status_code == 202))
            if rec["queued"]:
                rec["seen_status"] = self.follow(data["id"])
            if outcome != "unknown" or self.rng.random() < 0.2 or not self.alive():
                return
            time.sleep(self.rng.uniform(0.05, 0.4))

    def follow(self, batch_id: int) -> str | None:
        """Poll a queued batch until it ends (or the run does); its last status as seen."""
        seen = None
        while self.alive():
            resp, outcome, *_ = self.call("GET", f"/api/v1/import-batches/{batch_id}/", timeout=5.0)
            if outcome == "ok":
                seen = resp.json()["status"]
                if seen in IMPORT_FINAL:
                    break
            time.sleep(0.3)
        return seen

    def run(self) -> None:
        n = 0
        while self.alive():
            n += 1
            if self.sent and self.rng.random() < 1 / 8:
                key, entity, period, content = self.rng.choice(self.sent)
                rows = content.count(b"\n") - 1
                debits = sum((max(Decimal(line.split(",")[3]), Decimal(0))
                              for line in content.decode().splitlines()[1:]), Decimal(0))
                self.upload(f"{key}", entity, period, content, rows=rows, debits=debits, duplicate_of=key)
            else:
                key = f"{self.run_id}-{self.name}-{n}"
                entity, period = self.rng.choice(ENTITY_CODES), self.rng.choice(PERIOD_CODES)
                documents = self.rng.randrange(12, 20) if n % self.big_every == 0 else self.rng.randrange(1, 3)
                content, rows, debits = self.content(key, period, documents)
                self.sent.append((key, entity, period, content))
                self.upload(key, entity, period, content, rows=rows, debits=debits)
            time.sleep(self.rng.uniform(0.2, 0.6))


class JobEnqueuer(threading.Thread):
    """Enqueues system postings into django-q2 (in this process's Django, straight to the broker)."""

    def __init__(self, recorder: Recorder, deadline: float, seed: int, run_id: str, entities: dict[str, int]):
        super().__init__(name="jobs", daemon=True)
        self.recorder, self.deadline, self.rng = recorder, deadline, random.Random(seed)
        self.run_id, self.entities = run_id, entities

    def run(self) -> None:
        from django.db import connection
        from django_q.tasks import async_task

        n = 0
        try:
            while time.time() < self.deadline:
                n += 1
                key = f"{self.run_id}-job-{n}"
                month = self.rng.randrange(1, len(PERIOD_CODES) + 1)
                entry_date = f"2026-{month:02d}-{self.rng.randrange(1, 29):02d}"
                amount = str(Decimal(self.rng.randrange(1, 10**8)) / 100)
                entity = self.rng.choice(ENTITY_CODES)
                accounts = tuple(self.rng.sample(POSTING_ACCOUNTS, 2))
                t0 = time.time()
                try:
                    async_task("tests.reliability.jobs.post_accrual", key, self.entities[entity], entry_date, amount,
                               accounts, task_name=key)
                    outcome, code = "ok", ""
                except Exception as exc:
                    outcome, code = "failed", type(exc).__name__
                    connection.close()
                self.recorder.add(kind="job", client="jobs", key=key, entity=entity, period=f"2026-{month:02d}",
                                  t0=t0, t1=time.time(), outcome=outcome, code=code)
                time.sleep(self.rng.uniform(0.3, 0.8))
        finally:
            connection.close()
