"""Recompute every locked entity-period's trial balance and compare it with the snapshot the
database took when the period was locked (issue #14). Exit 1 and list each difference."""
from django.core.management.base import BaseCommand, CommandError

from ledger.selectors.reports import locks_verify
from sheshi.db.context import system_context
from sheshi.tenancy.commands import organisation_by_code_or_exit


class Command(BaseCommand):
    help = "Recompute each locked period's trial balance against its lock snapshot; exit 1 on any difference."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation code (default: all)")

    def handle(self, *args, **opts):
        with system_context("verify_locks"):
            org_id = organisation_by_code_or_exit(opts["org"]).pk if opts["org"] else None
            checked, problems = locks_verify(organisation_id=org_id)
        for p in problems[:50]:
            self.stderr.write(f"{p.entity}/{p.period}: {p.problem}")
        if problems:
            raise CommandError(f"{len(problems)} of {checked} locked periods differ from their lock snapshot")
        self.stdout.write(self.style.SUCCESS(f"{checked} locked periods match their lock snapshots: 0 differences"))
