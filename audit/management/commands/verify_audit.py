"""`manage.py verify_audit [--org CODE] [--public-key PEM_FILE]`: recompute every audit chain,
report the first break, and check the database still reaches the latest anchor."""
from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management.base import BaseCommand, CommandError

from audit.anchor.check import anchor_check, anchored_organisation_ids, empty_chain_failure
from audit.anchor.services import anchor_latest
from audit.anchor.store import anchor_store
from audit.management.commands._orgs import organisation_code_for, organisation_id_for
from audit.verify import chain_verify, chained_organisation_ids
from sheshi.db.context import system_context


class Command(BaseCommand):
    help = ("Verify the audit hash chain of one organisation (--org CODE, or 'platform') or of all of them, "
            "and that the chains and history tables still reach the latest anchor.")

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation code (default: every organisation)")
        parser.add_argument("--public-key", help="Ed25519 public key (PEM file) to check the anchor's signature "
                                                 "with; default: the key in SHESHI_AUDIT_SIGNING_KEY")

    def handle(self, *args, **options):
        public_key = self._public_key(options["public_key"])
        failed: set[int] = set()
        with system_context("verify_audit"):
            store = anchor_store()
            anchor = anchor_latest(store)
            anchored = {int(c["organisation_id"]): c.get("org") for c in
                        ((anchor.document or {}).get("chains", []) if anchor else []) if "organisation_id" in c}
            if options["org"]:
                org_ids = [organisation_id_for(options["org"])]
            else:
                org_ids = sorted(set(chained_organisation_ids()) | set(anchored_organisation_ids(anchor)))
            anchor_failures = anchor_check(anchor, organisation_ids=org_ids, public_key=public_key) if anchor else []
            for org_id in org_ids:
                code = organisation_code_for(org_id)
                if code.startswith("#") and anchored.get(org_id):
                    code = f"{anchored[org_id]} ({code})"  # the organisation row is gone too
                report = chain_verify(org_id)
                problems = [] if report.intact else [report.failure.message]
                if report.intact and report.count == 0:
                    empty = empty_chain_failure(org_id)
                    problems += [] if empty is None else [empty.message]
                problems += [f.message for f in anchor_failures if f.organisation_id == org_id]
                if not problems:
                    self.stdout.write(f"{code}: {report.summary()}")
                    continue
                failed.add(org_id)
                for message in dict.fromkeys(problems):
                    self.stderr.write(f"{code}: FAILED: {message}")
            global_failures = [f for f in anchor_failures if f.organisation_id is None]
            for failure in global_failures:
                self.stderr.write(f"FAILED: {failure.message}")
            if anchor is None:
                self.stderr.write(f"WARNING: no anchor in {store.describe()}: the end of the chain is not proven "
                                  f"(the hourly schedule writes one; `manage.py audit_anchor` writes one now)")
            elif not anchor_failures:
                self.stdout.write(f"{anchor.label()}: every chain and "
                                  f"{len(anchor.document.get('history', []))} history tables still reach it")
        if failed or global_failures:
            parts = [f"audit chain broken for {len(failed)} organisation(s)"] if failed else []
            parts += [f"{len(global_failures)} anchor problem(s)"] if global_failures else []
            raise CommandError(", ".join(parts))

    @staticmethod
    def _public_key(path: str | None) -> Ed25519PublicKey | None:
        if not path:
            return None
        loaded = serialization.load_pem_public_key(Path(path).read_bytes())
        if not isinstance(loaded, Ed25519PublicKey):
            raise CommandError("the public key is not an Ed25519 key")
        return loaded
