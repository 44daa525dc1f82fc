"""`manage.py export_audit_evidence --org CODE --period YYYY-MM [--to YYYY-MM] --out FILE.zip`."""
from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.evidence.archive import audit_evidence_export, evidence_scope
from sheshi.db.context import system_context
from sheshi.errors import SheshiError
from sheshi.tenancy.commands import organisation_by_code_or_exit

LABEL = "export_audit_evidence"


class Command(BaseCommand):
    help = ("Export the auditor evidence archive of an organisation for a period range: trial balances, "
            "journals, lock snapshots, audit events with the chain check, permissions; CSV + JSON, signed manifest.")

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation code")
        parser.add_argument("--period", required=True, help="first period code, e.g. 2026-01")
        parser.add_argument("--to", help="last period code (default: --period)")
        parser.add_argument("--out", required=True, help="the zip file to write")

    def handle(self, *args, **options):
        out = Path(options["out"])
        partial = out.with_name(out.name + ".partial")
        with system_context(LABEL):
            org = organisation_by_code_or_exit(options["org"])
            try:
                scope = evidence_scope(organisation=org, period=options["period"], to=options["to"])
                # Written aside and renamed once the export is recorded: no half archive under the name.
                with partial.open("w+b") as f:  # read back to keep a copy in the evidence store
                    result = audit_evidence_export(scope=scope, out=f, generated_by=f"system:{LABEL}")
            except SheshiError as exc:
                partial.unlink(missing_ok=True)
                raise CommandError(str(exc.detail)) from exc
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
        os.replace(partial, out)
        chain = result.manifest["audit_chain"]
        checks = result.manifest["checks"]
        self.stdout.write(f"{out}: {len(result.manifest['files'])} files, manifest sha256 {result.manifest_sha256}")
        self.stdout.write(f"kept in the evidence store as {result.stored_as}")
        self.stdout.write(f"audit chain: {'intact' if chain['intact'] else 'BROKEN'}, head seq {chain['head_seq']} "
                          f"{chain['head_hash']}")
        locks = checks["lock_snapshots"]
        self.stdout.write(f"lock snapshots: {locks['figures_unchanged']}/{locks['snapshots_checked']} unchanged; "
                          f"trial balances: {checks['trial_balances']['reconciling']}/"
                          f"{checks['trial_balances']['count']} reconcile")
