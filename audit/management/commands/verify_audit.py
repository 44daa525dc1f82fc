"""`manage.py verify_audit [--org CODE] [--public-key PEM_FILE]`: recompute every audit chain,
report the first break, and check the database still reaches the latest anchor (audit/anchor/)."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.anchor.check import AnchorFailure, anchor_check, anchored_organisations, empty_chain_failure
from audit.anchor.services import anchor_latest
from audit.anchor.store import anchor_store
from audit.management.commands._keys import public_key_from
from audit.management.commands._orgs import organisation_code_for, organisation_id_for
from audit.selectors.verify import chain_verify, chained_organisation_ids
from sheshi.db.context import system_context


class Command(BaseCommand):
    help = ("Verify the audit hash chain of one organisation (--org CODE, or 'platform') or of all of them, "
            "and that the chains and history tables still reach the latest anchor.")

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation code (default: every organisation)")
        parser.add_argument("--public-key", help="Ed25519 public key (PEM file) to check the anchor's signature "
                                                 "with; default: the key in SHESHI_AUDIT_SIGNING_KEY")

    def handle(self, *args, **options):
        public_key = public_key_from(options["public_key"])
        with system_context("verify_audit"):
            store = anchor_store()
            anchor = anchor_latest(store)
            anchored = anchored_organisations(anchor)
            if options["org"]:
                org_ids = [organisation_id_for(options["org"])]
            else:
                # Anchored organisations too: one deleted with its whole chain appears nowhere else.
                org_ids = sorted(set(chained_organisation_ids()) | set(anchored))
            anchor_failures = anchor_check(anchor, organisation_ids=org_ids, public_key=public_key) if anchor else []
            failed = [org_id for org_id in org_ids
                      if not self._organisation(org_id, anchored.get(org_id), anchor_failures)]
            general = [f for f in anchor_failures if f.organisation_id is None]
            for failure in general:
                self.stderr.write(f"FAILED: {failure.message}")
            if anchor is None:
                self.stderr.write(f"WARNING: no anchor in {store.describe()}: the end of the chain is not proven "
                                  f"(the hourly schedule writes one; `manage.py audit_anchor` writes one now)")
            elif not anchor_failures:
                self.stdout.write(f"{anchor.label()}: every chain and {len(anchor.document.get('history', []))} "
                                  f"history tables still reach it")
        if failed or general:
            parts = [f"audit chain broken for {len(failed)} organisation(s)"] if failed else []
            parts += [f"{len(general)} anchor problem(s)"] if general else []
            raise CommandError(", ".join(parts))

    def _organisation(self, org_id: int, anchored_code: str | None, anchor_failures: list[AnchorFailure]) -> bool:
        """Report one organisation's chain; True when nothing is wrong with it."""
        code = organisation_code_for(org_id)
        if code.startswith("#") and anchored_code:
            code = f"{anchored_code} ({code})"  # the organisation row is gone too
        report = chain_verify(org_id)
        problems = [] if report.intact else [report.failure.message]
        if report.intact and report.count == 0:
            empty = empty_chain_failure(org_id)
            problems += [] if empty is None else [empty.message]
        problems += [f.message for f in anchor_failures if f.organisation_id == org_id]
        if not problems:
            self.stdout.write(f"{code}: {report.summary()}")
            return True
        for message in problems:
            self.stderr.write(f"{code}: FAILED: {message}")
        return False
