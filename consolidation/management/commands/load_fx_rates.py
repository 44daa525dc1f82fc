"""Load FX rates for an organisation from a CSV file (from,to,type,rate,date); all or nothing."""
from django.core.management.base import BaseCommand, CommandError

from consolidation.services.rates_import import fx_rates_import
from sheshi.db.context import system_context
from sheshi.errors import SheshiError
from sheshi.tenancy.commands import organisation_by_code_or_exit


class Command(BaseCommand):
    help = "Load FX rates (closing/average/historical) from a CSV file into an organisation's rate set."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--org", required=True)

    def handle(self, *args, **opts):
        with system_context("load_fx_rates"):
            org = organisation_by_code_or_exit(opts["org"])
            try:
                with open(opts["file"], "rb") as fh:
                    result = fx_rates_import(actor=None, organisation=org, stream=fh, source=f"csv:{opts['file']}"[:64])
            except SheshiError as exc:
                for e in exc.errors:
                    self.stderr.write(f"row {e.row} {e.field}: {e.message} (value: {e.value})")
                raise CommandError(f"{exc.detail} [{exc.code}]") from exc
        self.stdout.write(self.style.SUCCESS(f"{result.created} rates loaded into {org.code}."))
