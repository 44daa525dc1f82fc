"""Signing and checking the evidence manifest with the audit signing key.

The signature covers the whole manifest except ``signature`` itself, serialised as JSON with
sorted keys and no spaces; ``algorithm`` and ``key_id`` are inside the signed part. With an
Ed25519 key an auditor verifies with the public key alone; an HMAC key needs the same secret.
The signing and the check are audit/signing.py's whole-document helpers, shared with the chain
anchors; these names stay for the evidence code and its tests.
"""
from __future__ import annotations

from audit.signing import document_message as signed_message
from audit.signing import document_sign as manifest_sign
from audit.signing import document_signature_valid as manifest_signature_valid

__all__ = ["manifest_sign", "manifest_signature_valid", "signed_message"]
