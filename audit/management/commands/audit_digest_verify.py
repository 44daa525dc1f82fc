"""`manage.py audit_digest_verify FILE [--public-key PEM_FILE]`: check a digest against the chain."""
from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management.base import BaseCommand, CommandError

from audit.errors import AuditDigestInvalidError
from audit.services.digest import audit_digest_verify
from sheshi.db.context import system_context


class Command(BaseCommand):
    help = "Verify a signed audit digest and that the current chain still contains its head at its seq."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--public-key", help="Ed25519 public key (PEM file); default: derived from the "
                                                 "signing key in SHESHI_AUDIT_SIGNING_KEY")

    def handle(self, *args, **options):
        try:
            digest = json.loads(Path(options["file"]).read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the digest: {exc}") from exc
        public_key = None
        if options["public_key"]:
            loaded = serialization.load_pem_public_key(Path(options["public_key"]).read_bytes())
            if not isinstance(loaded, Ed25519PublicKey):
                raise CommandError("the public key is not an Ed25519 key")
            public_key = loaded
        try:
            with system_context("audit_digest_verify"):
                self.stdout.write(audit_digest_verify(digest, public_key=public_key))
        except AuditDigestInvalidError as exc:
            raise CommandError(f"digest NOT verified: {exc.detail}") from exc
