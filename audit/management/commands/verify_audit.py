"""`manage.py verify_audit [--org CODE]`: recompute every audit chain and report the first break."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.management.commands._orgs import organisation_code_for, organisation_id_for
from audit.verify import chain_verify, chained_organisation_ids
from sheshi.db.context import system_context


class Command(BaseCommand):
    help = "Verify the audit hash chain of one organisation (--org CODE, or 'platform') or of all of them."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation code (default: every organisation)")

    def handle(self, *args, **options):
        failed = []
        with system_context("verify_audit"):
            org_ids = [organisation_id_for(options["org"])] if options["org"] else chained_organisation_ids()
            for org_id in org_ids:
                report = chain_verify(org_id)
                line = f"{organisation_code_for(org_id)}: {report.summary()}"
                if report.intact:
                    self.stdout.write(line)
                else:
                    self.stderr.write(line)
                    failed.append(org_id)
        if failed:
            raise CommandError(f"audit chain broken for {len(failed)} organisation(s)")
