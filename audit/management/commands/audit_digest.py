"""`manage.py audit_digest --org CODE [--output FILE]`: a signed digest of the organisation's chain (a copy is
always kept in the evidence store, S3 under Object Lock where configured)."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.management.commands._orgs import organisation_id_for
from audit.services.digest import audit_digest_create, digest_text, public_key_pem, signing_key
from sheshi.db.context import system_context


class Command(BaseCommand):
    help = "Export a signed digest (count, head hash, time) of an organisation's audit chain."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation code ('platform' for chain 0)")
        parser.add_argument("--output", help="write the JSON here instead of stdout")
        parser.add_argument("--public-key", action="store_true",
                            help="print the Ed25519 public key (PEM) an auditor verifies with, and exit")

    def handle(self, *args, **options):
        if options["public_key"]:
            self.stdout.write(public_key_pem(signing_key()))
            return
        if not options["org"]:
            raise CommandError("--org is required")
        with system_context("audit_digest"):
            digest = audit_digest_create(organisation_id=organisation_id_for(options["org"]), org_code=options["org"])
        # A copy is kept in the evidence store by the service; this is the caller's own copy.
        if options["output"]:
            Path(options["output"]).write_text(digest_text(digest))
        else:
            self.stdout.write(digest_text(digest), ending="")
