from django.core.management.base import BaseCommand, CommandError

from periods.cli import error_text
from periods.services.close import organisation_by_code
from periods.services.transitions import close_tasks_create_for_periods
from sheshi.db.context import system_context
from sheshi.errors import SheshiError


class Command(BaseCommand):
    help = ("Create the close checklist tasks of an organisation's open and soft-closed periods from its checklist "
            "templates (periods opened before the templates existed). Safe to run again: tasks already there are "
            "left as they are.")

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation code")
        parser.add_argument("--period", action="append", metavar="YYYY-MM",
                            help="only this period (repeatable); default: every open or soft-closed period")

    def handle(self, *args, **options):
        with system_context("create_close_tasks"):
            try:
                org = organisation_by_code(options["org"])
                period_ids = None
                if options["period"]:
                    found = dict(org.periods.filter(code__in=options["period"]).values_list("code", "pk"))
                    if missing := [c for c in options["period"] if c not in found]:
                        raise CommandError(f"No period {', '.join(missing)} in organisation {org.code}.")
                    period_ids = list(found.values())
                created = close_tasks_create_for_periods(organisation=org, period_ids=period_ids)
            except SheshiError as exc:
                raise CommandError(error_text(exc)) from exc
        self.stdout.write(f"{org.code}: {created} close task(s) created.")
