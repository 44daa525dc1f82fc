from sheshi.errors import Conflict, RuleViolation


class PeriodStateError(Conflict):
    code, title = "period_wrong_state", "The period is not in a state that allows this."


class UnpostedEntriesError(RuleViolation):
    code, title = "unposted_entries", "Unposted entries remain in the period."


class ReasonRequiredError(RuleViolation):
    code, title = "reason_required", "A written reason is required."
