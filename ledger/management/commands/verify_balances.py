"""Recompute every balance from posted lines and report any difference (there must be none)."""
from django.core.management.base import BaseCommand, CommandError

from ledger.selectors.reports import balances_verify
from sheshi.db.context import system_context
from sheshi.tenancy.commands import organisation_by_code_or_exit


class Command(BaseCommand):
    help = "Recompute balances from journal lines; exit 1 and list differences if any."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation code (default: all)")

    def handle(self, *args, **opts):
        with system_context("verify_balances"):
            org_id = organisation_by_code_or_exit(opts["org"]).pk if opts["org"] else None
            diffs = balances_verify(organisation_id=org_id)
        if diffs:
            for d in diffs[:50]:
                self.stderr.write(f"entity={d[0]} account={d[1]} period={d[2]} currency={d[3]}: "
                                  f"lines debit/credit/count={d[4]}/{d[6]}/{d[8]} stored={d[5]}/{d[7]}/{d[9]}")
            raise CommandError(f"{len(diffs)} balance rows disagree with their lines")
        self.stdout.write(self.style.SUCCESS("balances agree with lines: 0 differences"))
