"""The audit signing key and the one place signatures are made and checked.

Three documents are signed with ``SHESHI_AUDIT_SIGNING_KEY``: chain digests (audit/services/digest.py),
evidence manifests (audit/evidence/manifest.py) and chain anchors (audit/anchor/). Each builds
its own message bytes (their formats are already in auditors' hands and must not change); making
and checking the signature over those bytes happens here only.

The key:

* an Ed25519 private key — PEM (``-----BEGIN PRIVATE KEY-----…``) or ``ed25519:<base64 of the
  32-byte seed>`` — signs with Ed25519 (recommended: an auditor verifies with the public key alone);
* any other value is an HMAC-SHA256 secret (development and tests): only a holder of the same
  secret can verify.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ED25519, HMAC_SHA256 = "ed25519", "hmac-sha256"


@dataclass(frozen=True)
class SigningKey:
    algorithm: str  # "ed25519" | "hmac-sha256"
    secret: bytes | Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        if isinstance(self.secret, Ed25519PrivateKey):
            return hashlib.sha256(public_key_raw(self.secret.public_key())).hexdigest()[:16]
        return hashlib.sha256(b"sheshi-audit-hmac:" + self.secret).hexdigest()[:16]

    def sign(self, message: bytes) -> str:
        if isinstance(self.secret, Ed25519PrivateKey):
            return base64.b64encode(self.secret.sign(message)).decode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


def public_key_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def signing_key(value: str | None = None) -> SigningKey:
    value = settings.SHESHI_AUDIT_SIGNING_KEY if value is None else value
    if not value:
        raise ImproperlyConfigured("SHESHI_AUDIT_SIGNING_KEY is not set: audit digests cannot be signed.")
    if value.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(value.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured("SHESHI_AUDIT_SIGNING_KEY holds a PEM key that is not Ed25519.")
        return SigningKey(ED25519, key)
    if value.startswith("ed25519:"):
        return SigningKey(ED25519, Ed25519PrivateKey.from_private_bytes(base64.b64decode(value[8:])))
    return SigningKey(HMAC_SHA256, value.encode())


def public_key_pem(key: SigningKey) -> str:
    if not isinstance(key.secret, Ed25519PrivateKey):
        raise ImproperlyConfigured("an HMAC signing key has no public key")
    return key.secret.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def signature_valid(message: bytes, *, algorithm: Any, signature: Any, key: SigningKey | None = None,
                    public_key: Ed25519PublicKey | None = None) -> bool:
    """Whether ``signature`` is ``algorithm``'s signature of ``message``.

    Ed25519 verifies with ``public_key`` when given (an auditor's copy), else with the public half
    of ``key`` / the configured key. HMAC needs the secret itself, so it is never accepted when a
    public key was given (the caller asked for a check that needs no secret)."""
    if not isinstance(signature, str):
        return False
    if algorithm == ED25519:
        if public_key is None:
            key = key or signing_key()
            if not isinstance(key.secret, Ed25519PrivateKey):
                return False
            public_key = key.secret.public_key()
        try:
            public_key.verify(base64.b64decode(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True
    if algorithm == HMAC_SHA256 and public_key is None:
        key = key or signing_key()
        return key.algorithm == HMAC_SHA256 and hmac.compare_digest(key.sign(message), signature)
    return False


# --- Whole-document signatures (evidence manifests, anchors) -----------------------------------
# The signature covers the whole document except ``signature`` itself, serialised as JSON with
# sorted keys and no spaces; ``algorithm`` and ``key_id`` are inside the signed part.

def document_message(document: dict[str, Any]) -> bytes:
    body = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def document_sign(document: dict[str, Any], key: SigningKey | None = None) -> dict[str, Any]:
    """A copy of ``document`` with ``algorithm``, ``key_id`` and ``signature`` set."""
    key = key or signing_key()
    signed = {**document, "algorithm": key.algorithm, "key_id": key.key_id}
    signed.pop("signature", None)
    signed["signature"] = key.sign(document_message(signed))
    return signed


def document_signature_valid(document: dict[str, Any], *, key: SigningKey | None = None,
                             public_key: Ed25519PublicKey | None = None,
                             message: Callable[[dict[str, Any]], bytes] = document_message) -> bool:
    """Whether the document's ``signature`` is its ``algorithm``'s signature of ``message(document)``:
    the whole document by default; the chain digest (audit/digest.py) signs its fixed fields only. A
    document its message cannot be built from (a field missing or of the wrong type) is not valid."""
    try:
        signed = message(document)
    except (KeyError, TypeError):
        return False
    return signature_valid(signed, algorithm=document.get("algorithm"), signature=document.get("signature"),
                           key=key, public_key=public_key)
