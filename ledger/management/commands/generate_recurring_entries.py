from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ledger.selectors.recurring import recurring_periods
from ledger.services.recurring import recurring_entries_generate
from sheshi.db.context import system_context
from sheshi.tenancy.models import Organisation


class Command(BaseCommand):
    help = ("Generate the draft journal entries due from the active recurrences, each once per period (safe to "
            "run again). A period locked, soft-closed or not open for an entity is skipped with the reason.")

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation code (default: every organisation)")
        parser.add_argument("--period", metavar="YYYY-MM", help="period code (default: the current period)")

    def handle(self, *args, **options):
        with system_context("generate_recurring_entries"):
            org_ids = None
            if options["org"]:
                org_ids = list(Organisation.objects.filter(code=options["org"]).values_list("pk", flat=True))
                if not org_ids:
                    raise CommandError(f"No organisation {options['org']}.")
            periods = recurring_periods(organisation_ids=org_ids, period_code=options["period"],
                                        today=timezone.localdate())
            if not periods:
                raise CommandError(f"No period {options['period'] or 'containing today'}"
                                   f"{' in ' + options['org'] if options['org'] else ''}.")
            for period in periods:
                outcomes = recurring_entries_generate(period=period)
                for o in outcomes:
                    tail = f"entry {o.entry_id}" if o.entry_id else o.reason
                    self.stdout.write(f"{period.organisation.code} {period.code} {o.entity} “{o.template}”: "
                                      f"{o.status.replace('_', ' ')} ({tail})")
                self.stdout.write(f"{period.organisation.code} {period.code}: "
                                  f"{sum(o.status == 'generated' for o in outcomes)} draft(s) generated.")
