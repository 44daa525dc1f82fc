from django.core.management.base import BaseCommand, CommandError

from periods.cli import error_text
from periods.services.close import organisation_by_code
from periods.services.transitions import fiscal_year_generate
from sheshi.db.context import system_context
from sheshi.errors import SheshiError


class Command(BaseCommand):
    help = "Create fiscal year FY<year> (twelve months and an adjustment period 13) and open it for every entity."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation code")
        parser.add_argument("--year", required=True, type=int, help="the calendar year the fiscal year ends in")
        parser.add_argument("--no-adjustment", action="store_true", help="no adjustment period 13")

    def handle(self, *args, **options):
        if not 1900 <= options["year"] <= 2999:
            raise CommandError("--year must be a four-digit year.")
        with system_context("generate_calendar"):
            try:
                org = organisation_by_code(options["org"])
                fy = fiscal_year_generate(organisation=org, year=options["year"],
                                          adjustment_period=not options["no_adjustment"])
            except SheshiError as exc:
                raise CommandError(error_text(exc)) from exc
            codes = list(fy.periods.order_by("number").values_list("code", flat=True))
        self.stdout.write(f"{org.code} {fy.code}: {fy.start_date} – {fy.end_date}, {len(codes)} periods "
                          f"({codes[0]} … {codes[-1]})")
