"""Signing and checking the evidence manifest with the audit digest key (audit/digest.py).

The signature covers the whole manifest except ``signature`` itself, serialised as JSON with
sorted keys and no spaces; ``algorithm`` and ``key_id`` are inside the signed part. With an
Ed25519 key an auditor verifies with the public key alone; an HMAC key needs the same secret.
"""
from __future__ import annotations

import base64
import hmac
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.digest import SigningKey, signing_key


def signed_message(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def manifest_sign(manifest: dict[str, Any], key: SigningKey | None = None) -> dict[str, Any]:
    key = key or signing_key()
    signed = {**manifest, "algorithm": key.algorithm, "key_id": key.key_id}
    signed.pop("signature", None)
    signed["signature"] = key.sign(signed_message(signed))
    return signed


def manifest_signature_valid(manifest: dict[str, Any], *, key: SigningKey | None = None,
                             public_key: Ed25519PublicKey | None = None) -> bool:
    signature = manifest.get("signature")
    if not isinstance(signature, str):
        return False
    message = signed_message(manifest)
    if manifest.get("algorithm") == "ed25519":
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
    if manifest.get("algorithm") == "hmac-sha256" and public_key is None:
        key = key or signing_key()
        return key.algorithm == "hmac-sha256" and hmac.compare_digest(key.sign(message), signature)
    return False
