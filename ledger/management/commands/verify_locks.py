"""Recompute every locked entity-period's trial balance and compare it with the snapshot the
database took when the period was locked (issue #14). Exit 1 and list each difference."""
from django.core.management.base import BaseCommand, CommandError

from ledger.selectors.reports import locks_verify
from sheshi.db.context import system_context
from sheshi.tenancy.models import Organisation


class Command(BaseCommand):
    help = "Recompute each locked period's trial balance against its lock snapshot; exit 1 on any difference."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation code (default: all)")

    def handle(self, *args, **opts):
        with system_context("verify_locks"):
            org_id = None
            if opts["org"]:
                org = Organisation.objects.filter(code=opts["org"]).first()
                if org is None:
                    raise CommandError(f"Unknown organisation {opts['org']}")
                org_id = org.pk
            checked, problems = locks_verify(organisation_id=org_id)
        for p in problems[:50]:
            self.stderr.write(f"{p.entity}/{p.period}: {p.problem}")
        if problems:
            raise CommandError(f"{len(problems)} of {checked} locked periods differ from their lock snapshot")
        self.stdout.write(self.style.SUCCESS(f"{checked} locked periods match their lock snapshots: 0 differences"))
