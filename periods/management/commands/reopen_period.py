from periods.cli import PeriodTransitionCommand
from periods.models import PeriodState


class Command(PeriodTransitionCommand):
    help = "Reopen a soft-closed or locked period (a written --reason is required)."
    target = PeriodState.OPEN
    needs_reason = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--to", choices=[PeriodState.OPEN, PeriodState.SOFT_CLOSED], default=PeriodState.OPEN,
                            help="reopen to open (default) or to soft_closed")

    def handle(self, *args, **options):
        self.target = options["to"]
        return super().handle(*args, **options)
