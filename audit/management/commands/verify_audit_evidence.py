"""`manage.py verify_audit_evidence FILE.zip [--public-key PEM_FILE]`: check an evidence archive."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.evidence.verify import evidence_verify
from audit.management.commands._keys import DEFAULT_KEY_HELP, public_key_from


class Command(BaseCommand):
    help = "Recompute every file's SHA-256 of an audit evidence archive against its manifest and check the signature."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--public-key", help=f"Ed25519 public key (PEM file); {DEFAULT_KEY_HELP}")

    def handle(self, *args, **options):
        public_key = public_key_from(options["public_key"])
        report = evidence_verify(options["file"], public_key=public_key)
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"FAILED {problem}")
            raise CommandError(f"evidence NOT verified: {', '.join(report.failed_files)}")
        m = report.manifest
        self.stdout.write(f"{options['file']}: verified — {report.files_checked} files match the signed manifest "
                          f"({m['organisation']['code']} {m['period_from']}..{m['period_to']}, generated "
                          f"{m['generated_at']} by {m['generated_by']}, {m['algorithm']} key {m['key_id']})")
        chain = m["audit_chain"]
        self.stdout.write(f"audit chain at export: {'intact' if chain['intact'] else 'BROKEN'}, head seq "
                          f"{chain['head_seq']} {chain['head_hash']}")
