from sheshi.errors import Conflict, DbRule, RuleViolation, register_db_rules


class PeriodStateError(Conflict):
    code, title = "period_wrong_state", "The period is not in a state that allows this."


class UnpostedEntriesError(RuleViolation):
    code, title = "unposted_entries", "Unposted entries remain in the period."


class ReasonRequiredError(RuleViolation):
    code, title = "reason_required", "A written reason is required."


class SoftCloseUnconfirmedError(Conflict):
    code, title = "soft_close_unconfirmed", ("The period has unposted entries or open close items: soft-close it "
                                             "with force and a reason to go ahead.")


class CloseChecklistIncompleteError(RuleViolation):
    code, title = "close_checklist_incomplete", "Required close tasks or reconciliations are open or lapsed."


class BatchRefusedError(RuleViolation):
    code, title = "period_batch_refused", "The batch was refused; no period changed."


class GroupMembersNotLockedError(RuleViolation):
    code, title = "group_members_not_locked", "Every member entity must be locked first."


class YearEndError(RuleViolation):
    code, title = "year_end_refused", "The year-end close was refused."


class ReconciliationLapsedError(Conflict):
    code, title = "reconciliation_lapsed", "The balance changed since it was prepared; prepare it again."


class SignOffError(RuleViolation):
    code, title, status = "segregation_of_duties", "The reviewer must be someone other than the preparer.", 403


register_db_rules({
    "periods_mapping_frozen": DbRule("reference_data_frozen",
                                     "The mapping is effective in a locked period and cannot change.", 422),
    "periods_group_locked": DbRule("group_period_locked",
                                   "A consolidation group has locked this period; unlock the group first.", 409),
    "periods_override_append_only": DbRule("lock_override_append_only", "Lock overrides cannot change.", 409),
    "reconciliation_reviewer_not_preparer": DbRule("segregation_of_duties",
                                                   "The reviewer must be someone other than the preparer.", 403),
    "group_period_lock_unique": DbRule("group_already_locked", "The group's period is already locked.", 409),
    "checklist_template_name_unique": DbRule("checklist_template_name_taken",
                                             "The organisation already has a checklist template with this name.",
                                             409),
})
register_db_rules({
    "periods_group_members_not_locked": DbRule("group_members_not_locked",
                                               "Every member entity must be locked first.", 422),
})


class TaskStateError(Conflict):
    code, title = "task_wrong_state", "The close task is not in a state that allows this."


class ReconciliationUnexplainedError(RuleViolation):
    code, title = "reconciliation_unexplained", ("The GL and statement balances differ by more than the reconciling "
                                                 "items explain.")


register_db_rules({
    "checklist_task_reviewer_not_preparer": DbRule("segregation_of_duties",
                                                   "The reviewer must be someone other than the person who completed "
                                                   "the task.", 403),
    "periods_close_record_append_only": DbRule("close_record_append_only",
                                               "Reconciling items, evidence and comments cannot change; add a new "
                                               "one instead.", 409),
    "reconciliation_evidence_once": DbRule("evidence_already_attached",
                                           "This document is already attached to the reconciliation.", 409),
})
