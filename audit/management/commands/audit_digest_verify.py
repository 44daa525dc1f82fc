"""`manage.py audit_digest_verify FILE [--public-key PEM_FILE]`: check a digest against the chain."""
from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.errors import AuditDigestInvalidError
from audit.management.commands._keys import DEFAULT_KEY_HELP, public_key_from
from audit.services.digest import audit_digest_verify
from sheshi.db.context import system_context


class Command(BaseCommand):
    help = "Verify a signed audit digest and that the current chain still contains its head at its seq."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--public-key", help=f"Ed25519 public key (PEM file); {DEFAULT_KEY_HELP}")

    def handle(self, *args, **options):
        try:
            digest = json.loads(Path(options["file"]).read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the digest: {exc}") from exc
        public_key = public_key_from(options["public_key"])
        try:
            with system_context("audit_digest_verify"):
                self.stdout.write(audit_digest_verify(digest, public_key=public_key))
        except AuditDigestInvalidError as exc:
            raise CommandError(f"digest NOT verified: {exc.detail}") from exc
