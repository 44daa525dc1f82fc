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

A read that must be one consistent picture across many queries (the audit evidence archive)
decides once and pins the result with ``report_snapshot()``: one REPEATABLE READ, READ ONLY
transaction on that alias, which ``report_alias()``/``report_cursor()`` return without deciding
again and which ``read_alias()`` names for the ORM and raw reads of the block.

``ROUTES`` counts the decisions by reason (tests, and the metrics a deployment would scrape).
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DatabaseError, connections, transaction

from sheshi.db.context import current_context, set_context

REPLICA = "replica"
ROUTES: Counter[str] = Counter()
# The alias a report_snapshot() block pinned (None outside one).
_PINNED: ContextVar[str | None] = ContextVar("sheshi_report_alias", default=None)


def read_alias() -> str:
    """The alias reads of the current ``report_snapshot()`` block use; ``default`` outside one."""
    return _PINNED.get() or "default"


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
    pinned = _PINNED.get()
    if pinned is not None:
        return pinned  # decided once for the whole snapshot (report_snapshot)
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
    pinned = _PINNED.get()
    if pinned is not None:
        # The snapshot's own connection, or nothing: a fallback would read another snapshot.
        with connections[pinned].cursor() as cur:
            yield cur
        return
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


@contextmanager
def report_snapshot() -> Iterator[str]:
    """One consistent, read-only snapshot for many report reads; yields its alias.

    The alias is decided once, here (``report_alias``: the replica when it has replayed the
    primary's current WAL position, else the primary), and pinned for the block: one REPEATABLE
    READ, READ ONLY transaction on that connection (a hot standby allows it; not SERIALIZABLE).
    Inside a caller's transaction the block reads in that transaction, as every report does.
    An error on the replica once the snapshot is open ends the block: its reads cannot
    continue on another snapshot."""
    pinned = _PINNED.get()
    if pinned is not None:  # nested: the outer block already is one snapshot
        yield pinned
        return
    alias = report_alias()
    outermost = not connections[alias].in_atomic_block
    with transaction.atomic(using=alias):
        if outermost:
            with connections[alias].cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        token = _PINNED.set(alias)
        try:
            yield alias
        finally:
            _PINNED.reset(token)
