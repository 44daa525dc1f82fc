"""Walk an organisation's audit chain and recompute every link in Python.

The verifier trusts nothing stored: it rebuilds each event's canonical serialisation from its
fields (audit/canonical.py), recomputes the content hash and the link hash, and checks that the
sequence has no gap and that each link points at its predecessor. It stops at the first event
that does not verify and says where and why. Reads use ``read_alias()``: the primary, or the
snapshot an evidence archive pinned (sheshi/db/replica.py).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connections

from audit.canonical import GENESIS_HASH, event_content_hash, link_hash, parse_json
from sheshi.db.replica import read_alias

PAGE = 5000


@dataclass(frozen=True)
class ChainFailure:
    kind: str  # content_changed | link_broken | gap | reordered | missing_event | unchained_event | head_mismatch
    seq: int | None
    event_id: int | None
    message: str


@dataclass(frozen=True)
class ChainReport:
    organisation_id: int
    count: int
    head_seq: int
    head_hash: str
    failure: ChainFailure | None = None

    @property
    def intact(self) -> bool:
        return self.failure is None

    def summary(self) -> str:
        if self.failure is None:
            return f"intact: {self.count} events, head {self.head_hash}"
        return f"FAILED: {self.failure.message}"


@dataclass(frozen=True)
class _Link:
    seq: int
    event_id: int
    prev_hash: str
    hash: str
    event: dict | None


_EVENT_COLUMNS = ("id", "organisation_id", "occurred_at", "txid", "actor_id", "actor_label", "request_id",
                  "client_addr", "action", "object_type", "object_id", "changes", "content_hash")


def _links(organisation_id: int, upto_seq: int | None) -> Iterator[_Link]:
    last = 0
    while True:
        with connections[read_alias()].cursor() as cur:
            cur.execute(
                "SELECT c.seq, c.event_id, c.prev_hash, c.hash, e.id, e.organisation_id, e.occurred_at, e.txid,"
                " e.actor_id, e.actor_label, e.request_id, e.client_addr, e.action, e.object_type, e.object_id,"
                " e.changes::text, e.content_hash"
                " FROM audit_chain c LEFT JOIN audit_event e ON e.id = c.event_id"
                " WHERE c.organisation_id = %s AND c.seq > %s AND (%s::bigint IS NULL OR c.seq <= %s::bigint)"
                " ORDER BY c.seq LIMIT %s",
                [organisation_id, last, upto_seq, upto_seq, PAGE])
            rows = cur.fetchall()
        for r in rows:
            event = None if r[4] is None else dict(zip(_EVENT_COLUMNS, r[4:], strict=True))
            yield _Link(seq=r[0], event_id=r[1], prev_hash=r[2], hash=r[3], event=event)
        if len(rows) < PAGE:
            return
        last = rows[-1][0]


def recompute_content_hash(event: dict) -> str:
    return event_content_hash(
        organisation_id=event["organisation_id"], occurred_at=event["occurred_at"], txid=event["txid"],
        actor_id=event["actor_id"], actor_label=event["actor_label"], request_id=event["request_id"],
        client_addr=event["client_addr"], action=event["action"], object_type=event["object_type"],
        object_id=event["object_id"], changes=parse_json(event["changes"]))


def _link_holding(organisation_id: int, prev_hash: str) -> tuple[int, int] | None:
    """The chain entry whose hash is ``prev_hash`` (where a link really points)."""
    with connections[read_alias()].cursor() as cur:
        cur.execute("SELECT seq, event_id FROM audit_chain WHERE organisation_id = %s AND hash = %s LIMIT 1",
                    [organisation_id, prev_hash])
        return cur.fetchone()


def _seat_of_content(organisation_id: int, content_hash: str, skip_seq: int) -> tuple[int, int] | None:
    """The chain entry that was sealed over this content (an event moved to another place)."""
    for link in _links(organisation_id, None):
        if link.seq != skip_seq and link_hash(content_hash, link.prev_hash) == link.hash:
            return link.seq, link.event_id
    return None


def _span(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seq {first}..{last}"


def _check_link(organisation_id: int, link: _Link, expected_seq: int, prev: str) -> ChainFailure | None:
    seq, eid = link.seq, link.event_id
    if seq != expected_seq:
        missing = _span(expected_seq, seq - 1)
        return ChainFailure("gap", expected_seq, eid,
                            f"gap: {missing} missing — the chain jumps from seq {expected_seq - 1} to seq {seq} "
                            f"(event {eid})")
    if link.event is None:
        return ChainFailure("missing_event", seq, eid,
                            f"missing: event {eid} (seq {seq}) is in the chain but not in audit_event (deleted)")
    if link.prev_hash != prev:
        other = _link_holding(organisation_id, link.prev_hash)
        if other is not None:
            return ChainFailure("reordered", seq, eid,
                                f"reordered: event {eid} at seq {seq} was sealed after event {other[1]}, which now "
                                f"sits at seq {other[0]}, not after seq {seq - 1}")
        return ChainFailure("link_broken", seq, eid,
                            f"link broken: event {eid} (seq {seq}) does not point at the hash of seq {seq - 1}")
    content = recompute_content_hash(link.event)
    if content != link.event["content_hash"]:
        return ChainFailure("content_changed", seq, eid,
                            f"content changed: event {eid} (seq {seq}) no longer matches its content hash")
    if link_hash(content, link.prev_hash) != link.hash:
        seat = _seat_of_content(organisation_id, content, seq)
        if seat is not None:
            return ChainFailure("reordered", seq, eid,
                                f"reordered: event {eid} at seq {seq} holds the content sealed at seq {seat[0]} "
                                f"(event {seat[1]})")
        return ChainFailure("content_changed", seq, eid,
                            f"content changed: event {eid} (seq {seq}) does not match its chain hash")
    return None


def _head(organisation_id: int) -> tuple[int, str] | None:
    with connections[read_alias()].cursor() as cur:
        cur.execute("SELECT seq, hash FROM audit_chain_head WHERE organisation_id = %s", [organisation_id])
        return cur.fetchone()


def _first_unchained(organisation_id: int) -> int | None:
    with connections[read_alias()].cursor() as cur:
        cur.execute("SELECT e.id FROM audit_event e WHERE e.organisation_id = %s AND NOT EXISTS "
                    "(SELECT 1 FROM audit_chain c WHERE c.event_id = e.id) ORDER BY e.id LIMIT 1", [organisation_id])
        row = cur.fetchone()
        return row[0] if row else None


def chain_verify(organisation_id: int, *, upto_seq: int | None = None) -> ChainReport:
    """Verify the chain (up to ``upto_seq`` if given). Needs a session scope that sees the
    organisation (system_context in commands)."""
    expected, prev, count = 1, GENESIS_HASH, 0

    def report(failure: ChainFailure | None) -> ChainReport:
        return ChainReport(organisation_id, count, expected - 1, prev, failure)

    for link in _links(organisation_id, upto_seq):
        failure = _check_link(organisation_id, link, expected, prev)
        if failure is not None:
            return report(failure)
        prev, expected, count = link.hash, expected + 1, count + 1
    if upto_seq is not None:
        if expected - 1 != upto_seq:
            message = f"gap: {_span(expected, upto_seq)} missing — the chain ends at seq {expected - 1}"
            return report(ChainFailure("gap", expected, None, message))
        return report(None)
    head = _head(organisation_id)
    if head is not None and head[0] > expected - 1:
        return report(ChainFailure("gap", expected, None,
                                   f"gap: {_span(expected, head[0])} missing at the end of the chain "
                                   f"(the head records seq {head[0]})"))
    if head is not None and head[1] != prev:
        return report(ChainFailure("head_mismatch", expected - 1, None,
                                   f"head mismatch: the head records hash {head[1]} for seq {head[0]}, "
                                   f"the chain ends with {prev}"))
    if head is None and count:
        return report(ChainFailure("head_mismatch", expected - 1, None, "head mismatch: the chain has no head row"))
    unchained = _first_unchained(organisation_id)
    if unchained is not None:
        return report(ChainFailure("unchained_event", None, unchained,
                                   f"unchained: event {unchained} is not in the chain (sealing bypassed or its chain "
                                   f"entry deleted)"))
    return report(None)


def chained_organisation_ids() -> list[int]:
    """Every organisation with a chain, an event, or an organisation row (platform chain 0 included)."""
    with connections[read_alias()].cursor() as cur:
        cur.execute("SELECT organisation_id FROM audit_chain_head UNION SELECT id FROM tenancy_organisation "
                    "UNION SELECT 0 ORDER BY 1")
        return [r[0] for r in cur.fetchall()]
