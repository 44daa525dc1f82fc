from django.core.management.base import CommandError

from periods.cli import PeriodTransitionCommand
from periods.models import PeriodState


class Command(PeriodTransitionCommand):
    help = ("Soft-close a period (only users with the close permission can then post adjustments). With unposted "
            "entries, open required close tasks or lapsed reconciliations it lists them and stops, unless --force "
            "with a --reason (recorded).")
    target = PeriodState.SOFT_CLOSED

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--force", action="store_true",
                            help="soft-close despite unposted entries or open close items (needs --reason)")

    def transition_options(self, options) -> dict:
        if options["force"] and not (options["reason"] or "").strip():
            raise CommandError('close_period --force needs --reason "...": a written reason is recorded. '
                               "[reason_required]")
        return {"force": options["force"]}
