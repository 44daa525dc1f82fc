"""Report reads on a streaming replica, when ``DATABASE_REPLICA_URL`` configures one.

Reports (trial balance, statements, general ledger: ``ledger/selectors/reports.py``) are read-only, set-based
and the heaviest reads; on a replica they stop competing with posting. What a caller reads must
still include what it has just written, so before each report read the primary's current WAL
position is taken and the replica must have replayed up to it: at once, or within
``SHESHI_REPLICA_MAX_WAIT_MS`` (polled), else the read goes to the primary. A replica that does
not answer is a read on the primary too (and is tried again on the next read). Inside a
transaction the read stays on the primary: it may depend on that transaction's own rows.

The session context that row-level security reads (``sheshi/db/context.py``) is copied to the
replica connection before the read, so a report on the replica sees exactly the organisations it
would see on the primary.

``ROUTES`` counts the decisions by reason (tests, and the metrics a deployment would scrape).
"""
from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connections

from sheshi.db.context import current_context, set_context

REPLICA = "replica"
ROUTES: Counter[str] = Counter()


def _replica_caught_up(lsn: str) -> bool:
    deadline = time.monotonic() + getattr(settings, "SHESHI_REPLICA_MAX_WAIT_MS", 500) / 1000
    with connections[REPLICA].cursor() as cur:
        while True:
            cur.execute("SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)", [lsn])
            if cur.fetchone()[0]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def report_alias() -> str:
    """The alias a report read should use now: ``replica`` or ``default`` (see the module doc)."""
    if REPLICA not in settings.DATABASES:
        return "default"
    primary = connections["default"]
    if primary.in_atomic_block:
        ROUTES["primary:in_transaction"] += 1
        return "default"

    with primary.cursor() as cur:
        cur.execute("SELECT pg_current_wal_lsn()::text")
        lsn = cur.fetchone()[0]
    context = current_context("default")
    try:
        if not _replica_caught_up(lsn):
            ROUTES["primary:lag"] += 1
            return "default"
        set_context(context, using=REPLICA)
    except DatabaseError:
        connections[REPLICA].close()  # a stopped or unreachable replica: reconnect on the next read
        ROUTES["primary:replica_unavailable"] += 1
        return "default"
    ROUTES["replica"] += 1
    return REPLICA


@contextmanager
def report_cursor():
    """A cursor for one report query, on the replica when it is safe (``report_alias``)."""
    alias = report_alias()
    try:
        cursor = connections[alias].cursor()
    except DatabaseError:
        if alias == "default":
            raise
        connections[alias].close()
        ROUTES["primary:replica_unavailable"] += 1
        cursor = connections["default"].cursor()
    with cursor as cur:
        yield cur
