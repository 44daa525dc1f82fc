"""The database against an anchor: does it still reach everything the anchor recorded?

For each anchored organisation the chain must still hold, at the anchored seq, the anchored hash
and event (else its tail was cut, its whole history deleted, or its history re-chained); each
anchored history table must still have at least the anchored rows and highest id. Beyond the
anchor the chain walk (audit/selectors/verify.py) covers the rest; what happened after the last anchor
can only be caught by the next one.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.apps import apps
from django.db import connection

from audit.anchor.state import table_figures
from audit.signing import document_signature_valid

POSTED = "posted"  # ledger's EntryStatus.POSTED (audit reads the ledger by model name only)


@dataclass(frozen=True)
class AnchorFailure:
    kind: str  # unreadable | signature_invalid | history_deleted | tail_truncated | rechained | history_truncated
    message: str
    organisation_id: int | None = None
    table: str | None = None


@dataclass(frozen=True)
class StoredAnchor:
    name: str
    sequence: int
    document: dict[str, Any] | None  # None when the file is not a JSON object
    sha256: str
    error: str = ""

    def label(self) -> str:
        at = (self.document or {}).get("at", "?")
        return f"anchor {self.name} ({at})"


def _chain_position(organisation_id: int, seq: int) -> tuple[int | None, int | None, int | None, int | None,
                                                               str | None]:
    """(last seq in the chain, its event id, head row's seq, event id at ``seq``, hash at ``seq``)."""
    with connection.cursor() as cur:
        cur.execute("SELECT last.seq, last.event_id, (SELECT seq FROM audit_chain_head WHERE organisation_id = %s),"
                    " l.event_id, l.hash FROM (SELECT 1) one"
                    " LEFT JOIN LATERAL (SELECT seq, event_id FROM audit_chain WHERE organisation_id = %s"
                    "                    ORDER BY seq DESC LIMIT 1) last ON true"
                    " LEFT JOIN audit_chain l ON l.organisation_id = %s AND l.seq = %s",
                    [organisation_id, organisation_id, organisation_id, seq])
        return cur.fetchone()


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}..{last}"


def _chain_failure(anchor: StoredAnchor, chain: dict[str, Any]) -> AnchorFailure | None:
    org_id, seq = int(chain["organisation_id"]), int(chain["seq"])
    if seq == 0:
        return None
    last, last_event, head, event_id, link_hash = _chain_position(org_id, seq)
    anchored = (f"{anchor.label()} recorded {chain['count']} events, seq 1..{seq}, up to event "
                f"{chain['last_event_id']} (hash {chain['head_hash']})")
    head_note = "no head row" if head is None else f"head row at seq {head}"
    if last is None:
        return AnchorFailure("history_deleted", f"history deleted: the chain is empty ({head_note}), but {anchored}",
                             org_id)
    if last < seq:
        return AnchorFailure("tail_truncated",
                             f"tail truncated: seq {_span(last + 1, seq)} missing, the organisation's events after "
                             f"event {last_event} up to event {chain['last_event_id']} — the chain now ends at seq "
                             f"{last} ({head_note}), but {anchored}", org_id)
    if event_id is None or link_hash != chain["head_hash"] or event_id != chain["last_event_id"]:
        return AnchorFailure("rechained",
                             f"re-chained: seq {seq} now holds event {event_id} with hash {link_hash}, but "
                             f"{anchored}: history up to seq {seq} was rewritten", org_id)
    return None


def _history_failure(anchor: StoredAnchor, figures: dict[str, Any]) -> AnchorFailure | None:
    table, rows, max_id = figures["table"], int(figures["rows"]), figures["max_id"]
    anchored = f"{anchor.label()} recorded {rows} rows up to id {max_id}"
    found = table_figures(table, figures.get("pk", "history_id"))
    if found is None:
        return AnchorFailure("history_truncated", f"history table {table} is gone, but {anchored}", table=table)
    now_rows, now_max = found
    problems = []
    if now_rows < rows:
        problems.append(f"at least {rows - now_rows} rows missing ({now_rows} left)")
    if max_id is not None and (now_max is None or now_max < max_id):
        problems.append(f"no row above id {now_max or 0} (ids up to {max_id} existed)")
    if not problems:
        return None
    return AnchorFailure("history_truncated", f"history truncated: {table}: {', '.join(problems)}, but {anchored}",
                         table=table)


def anchor_check(anchor: StoredAnchor, *, organisation_ids: Iterable[int] | None = None,
                 signature_required: bool = True, public_key: Ed25519PublicKey | None = None) -> list[AnchorFailure]:
    """Every way the database falls short of ``anchor`` (empty: it still extends the anchor).

    An anchor whose signature does not verify is reported and nothing else is compared: its
    figures cannot be trusted. ``organisation_ids`` limits the chains compared; history tables
    are always compared."""
    if anchor.document is None:
        return [AnchorFailure("unreadable", f"{anchor.label()} cannot be read: {anchor.error}")]
    if signature_required and not document_signature_valid(anchor.document, public_key=public_key):
        return [AnchorFailure("signature_invalid",
                              f"{anchor.label()}: the signature does not verify (altered anchor, or signed with "
                              f"another key: {anchor.document.get('algorithm')} key {anchor.document.get('key_id')})")]
    wanted = None if organisation_ids is None else set(organisation_ids)
    failures = []
    try:
        for chain in anchor.document.get("chains", []):
            if wanted is None or int(chain["organisation_id"]) in wanted:
                failure = _chain_failure(anchor, chain)
                if failure is not None:
                    failures.append(failure)
        for figures in anchor.document.get("history", []):
            failure = _history_failure(anchor, figures)
            if failure is not None:
                failures.append(failure)
    except (KeyError, TypeError, ValueError) as exc:
        failures.append(AnchorFailure("unreadable", f"{anchor.label()} is malformed: {exc!r}"))
    return failures


def anchored_organisations(anchor: StoredAnchor | None) -> dict[int, str]:
    """Organisation id → code as the anchor recorded them (the code outlives a deleted row)."""
    if anchor is None or anchor.document is None:
        return {}
    return {int(c["organisation_id"]): str(c.get("org", "")) for c in anchor.document.get("chains", [])
            if isinstance(c, dict) and "organisation_id" in c}


def empty_chain_failure(organisation_id: int) -> AnchorFailure | None:
    """An organisation that exists (its creation was itself an audited event) or has posted
    journal entries cannot have an empty chain: its history was deleted."""
    with connection.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM audit_chain WHERE organisation_id = %s),"
                    " EXISTS (SELECT 1 FROM tenancy_organisation WHERE id = %s)", [organisation_id, organisation_id])
        chained, exists = cur.fetchone()
    if chained:
        return None
    posted = apps.get_model("ledger", "JournalEntry").objects.filter(organisation_id=organisation_id,
                                                                     status=POSTED).count()
    if not exists and not posted:
        return None
    return AnchorFailure("history_deleted",
                         f"history deleted: the chain is empty, yet the organisation exists (its creation is itself "
                         f"an audited event) and has {posted} posted journal "
                         f"{'entry' if posted == 1 else 'entries'}", organisation_id)
