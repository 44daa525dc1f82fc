"""The `--public-key PEM_FILE` option shared by the commands that check a signature."""
from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management.base import CommandError

DEFAULT_KEY_HELP = "default: derived from the signing key in SHESHI_AUDIT_SIGNING_KEY"


def public_key_from(path: str | None) -> Ed25519PublicKey | None:
    """The Ed25519 public key in ``path``; None without a path (the signing key then verifies)."""
    if not path:
        return None
    try:
        loaded = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read the public key {path}: {exc}") from exc
    if not isinstance(loaded, Ed25519PublicKey):
        raise CommandError("the public key is not an Ed25519 key")
    return loaded
