from periods.cli import PeriodTransitionCommand
from periods.models import PeriodState


class Command(PeriodTransitionCommand):
    help = "Lock a period: nothing posts into it any more; its trial balance is snapshotted and hashed."
    target = PeriodState.LOCKED

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--override-reason", default="",
                            help="lock although close tasks or reconciliations are open (recorded)")

    def transition_options(self, options) -> dict:
        return {"override_reason": options["override_reason"]}
