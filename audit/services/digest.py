"""Signed digests of an organisation's audit chain: evidence that history up to a point was not
rewritten later.

A digest is ``{"org", "organisation_id", "seq", "count", "head_hash", "at", "algorithm", "key_id",
"signature"}``; the signature covers every other field serialised as JSON with sorted keys and no
spaces. The key comes from ``SHESHI_AUDIT_SIGNING_KEY`` (audit/signing.py, which also makes and
checks the signature): with an Ed25519 key an auditor verifies with the public key alone,
``manage.py audit_digest_verify FILE --public-key key.pub``; print it with ``audit_digest
--public-key``.

Verifying checks the signature, then that the current chain still has that hash at that seq and
that the chain up to it recomputes (audit/selectors/verify.py). A rewrite of history — even one that
recomputed every later hash — changes the hash at that seq, or breaks the chain before it.
"""
from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection
from django.utils import timezone

from audit.errors import AuditDigestInvalidError
from audit.selectors.verify import chain_verify
from audit.services.events import audit_event_record
from audit.signing import SigningKey, document_signature_valid, public_key_pem, public_key_raw, signing_key

__all__ = ["SIGNED_FIELDS", "SigningKey", "audit_digest_create", "audit_digest_verify", "public_key_pem",
           "public_key_raw", "signature_valid", "signing_key"]

SIGNED_FIELDS = ("org", "organisation_id", "seq", "count", "head_hash", "at", "algorithm", "key_id")


def _message(digest: dict[str, Any]) -> bytes:
    return json.dumps({k: digest[k] for k in SIGNED_FIELDS}, sort_keys=True, separators=(",", ":")).encode()


def digest_text(digest: dict[str, Any]) -> str:
    """The digest as it is handed out and kept: indented JSON, keys sorted, one final newline."""
    return json.dumps(digest, indent=2, sort_keys=True) + "\n"


def audit_digest_create(*, organisation_id: int, org_code: str, key: SigningKey | None = None) -> dict[str, Any]:
    """Sign the organisation's current chain head, keep a copy in the ``evidence`` store (S3 under Object
    Lock where configured, so the digest an auditor was given cannot be replaced later) and record the
    export, with where the copy is, in the same log."""
    key = key or signing_key()
    with connection.cursor() as cur:
        cur.execute("SELECT seq, hash FROM audit_chain_head WHERE organisation_id = %s", [organisation_id])
        row = cur.fetchone()
    seq, head_hash = row if row else (0, "0" * 64)
    digest: dict[str, Any] = {"org": org_code, "organisation_id": organisation_id, "seq": seq, "count": seq,
                              "head_hash": head_hash, "at": timezone.now().isoformat(),
                              "algorithm": key.algorithm, "key_id": key.key_id}
    digest["signature"] = key.sign(_message(digest))
    stored_as = storages["evidence"].save(f"audit-digests/{org_code}/seq-{seq}.json",
                                          ContentFile(digest_text(digest).encode()))
    audit_event_record(organisation_id=organisation_id, action="audit.digest_exported", object_type="audit.chain",
                       object_id=seq, changes={"seq": seq, "head_hash": head_hash, "key_id": key.key_id,
                                               "stored_as": stored_as})
    return digest


def signature_valid(digest: dict[str, Any], *, key: SigningKey | None = None,
                    public_key: Ed25519PublicKey | None = None) -> bool:
    return document_signature_valid(digest, key=key, public_key=public_key, message=_message)


def audit_digest_verify(digest: dict[str, Any], *, key: SigningKey | None = None,
                        public_key: Ed25519PublicKey | None = None) -> str:
    """Raise AuditDigestInvalidError unless the signature holds and the current chain still has
    ``head_hash`` at ``seq`` with an intact history up to it; returns a one-line confirmation."""
    if not signature_valid(digest, key=key, public_key=public_key):
        raise AuditDigestInvalidError("the digest's signature does not verify (altered digest or wrong key)")
    org_id, seq = int(digest["organisation_id"]), int(digest["seq"])
    if seq == 0:
        return f"{digest['org']}: digest verified (empty chain at {digest['at']})"
    with connection.cursor() as cur:
        cur.execute("SELECT hash FROM audit_chain WHERE organisation_id = %s AND seq = %s", [org_id, seq])
        row = cur.fetchone()
    if row is None:
        raise AuditDigestInvalidError(f"the chain no longer has seq {seq}: history was removed")
    if row[0] != digest["head_hash"]:
        raise AuditDigestInvalidError(f"the chain's hash at seq {seq} is {row[0]}, the digest signed "
                                      f"{digest['head_hash']}: history up to seq {seq} was rewritten")
    report = chain_verify(org_id, upto_seq=seq)
    if not report.intact:
        raise AuditDigestInvalidError(f"the chain up to seq {seq} does not verify: {report.failure.message}")
    return (f"{digest['org']}: digest verified — seq {seq} still has head {digest['head_hash']} "
            f"(signed {digest['at']}, {digest['algorithm']} key {digest['key_id']})")
