"""Writing an anchor, and finding the latest one.

An anchor is a signed JSON document (audit/signing.py, whole-document signature)::

    {"format": "sheshi-audit-anchor/1", "sequence": 12, "at": "2026-12-01T14:00:00.123456+00:00",
     "reason": "schedule" | "period_lock" | "manual", "ref": "entity_period:42",
     "previous": {"name": "...", "sha256": "..."} | null,
     "chains": [{"organisation_id", "org", "seq", "count", "last_event_id", "head_hash"}, ...],
     "history": [{"table", "pk", "rows", "max_id"}, ...],
     "algorithm", "key_id", "signature"}

written once to the anchor store (audit/anchor/store.py) as ``<UTC time>-<sequence>.json``.
``previous`` links each anchor to the one before it by name and SHA-256, so the anchors form a
chain of their own.

A writer first compares the database with the latest anchor (audit/anchor/check.py) and refuses
to write while the database falls short of it: an anchor taken after the tail was cut would
otherwise make the cut look like the reference. The refusal is loud (the task fails and logs);
``verify_audit`` reports the same findings against the latest good anchor.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.anchor.check import StoredAnchor, anchor_check
from audit.anchor.state import chain_heads, history_figures
from audit.anchor.store import AnchorExistsError, AnchorStore, anchor_name, anchor_sequence, anchor_store
from audit.errors import AuditAnchorRegressionError
from audit.signing import SigningKey, document_sign, signing_key

FORMAT = "sheshi-audit-anchor/1"
# pg_advisory_xact_lock key serialising anchor writers (the bytes of "anchor" as a number).
ANCHOR_LOCK_KEY = 0x616E63686F72
PUT_ATTEMPTS = 3

logger = logging.getLogger("sheshi.audit.anchor")


@dataclass(frozen=True)
class AnchorWritten:
    name: str
    document: dict[str, Any]
    store: str


def anchor_load(store: AnchorStore, name: str) -> StoredAnchor:
    data = store.read(name)
    sha256 = hashlib.sha256(data).hexdigest()
    sequence = anchor_sequence(name) or 0
    try:
        document = json.loads(data)
    except ValueError as exc:
        return StoredAnchor(name, sequence, None, sha256, f"not JSON ({exc})")
    if not isinstance(document, dict):
        return StoredAnchor(name, sequence, None, sha256, "not a JSON object")
    return StoredAnchor(name, sequence, document, sha256)


def anchor_latest(store: AnchorStore | None = None) -> StoredAnchor | None:
    """The anchor with the highest sequence number (the name breaks a tie), or None."""
    store = store or anchor_store()
    names = store.names()
    if not names:
        return None
    return anchor_load(store, max(names, key=lambda n: (anchor_sequence(n) or 0, n)))


def audit_anchor_write(*, reason: str, ref: str = "", store: AnchorStore | None = None,
                       key: SigningKey | None = None) -> AnchorWritten:
    """Sign the current chain heads and history figures and add them to the store as a new anchor.

    Needs the all-organisations scope (system_context). Raises AuditAnchorRegressionError, and
    writes nothing, when the database no longer reaches the latest anchor."""
    store = store or anchor_store()
    key = key or signing_key()  # fail before any work when no key is configured
    with transaction.atomic():
        # One writer at a time: the sequence comes from the store, and a second writer must see
        # the first one's anchor (and compare with it) before reading the database.
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [ANCHOR_LOCK_KEY])
        previous = anchor_latest(store)
        if previous is not None:
            # The signature is not required here: after a key rotation the previous anchor no
            # longer verifies, yet its figures still bind the database (the store is write-once).
            failures = anchor_check(previous, signature_required=False)
            if failures:
                raise AuditAnchorRegressionError(
                    f"not anchoring: the database falls short of {previous.label()}: "
                    + "; ".join(f.message for f in failures))
        document: dict[str, Any] = {
            "format": FORMAT, "reason": reason, "ref": ref,
            "previous": None if previous is None else {"name": previous.name, "sha256": previous.sha256},
            "chains": chain_heads(), "history": history_figures()}
        sequence = 1 if previous is None else max(previous.sequence, 0) + 1
        for _ in range(PUT_ATTEMPTS):
            at = timezone.now()
            name = anchor_name(at_compact=at.strftime("%Y%m%dT%H%M%SZ"), sequence=sequence)
            signed = document_sign({**document, "sequence": sequence, "at": at.isoformat()}, key)
            data = (json.dumps(signed, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
            try:
                store.put(name, data)
            except AnchorExistsError:
                sequence += 1  # another writer outside this database's lock took the name: never overwrite
                continue
            logger.info("audit anchor written", extra={"anchor": name, "store": store.describe(),
                                                       "reason": reason, "chains": len(document["chains"])})
            return AnchorWritten(name, signed, store.describe())
    raise AnchorExistsError(f"no free anchor name after {PUT_ATTEMPTS} attempts in {store.describe()}")
