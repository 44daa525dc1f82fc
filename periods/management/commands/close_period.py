from periods.cli import PeriodTransitionCommand
from periods.models import PeriodState


class Command(PeriodTransitionCommand):
    help = "Soft-close a period (only users with the close permission can then post adjustments)."
    target = PeriodState.SOFT_CLOSED
