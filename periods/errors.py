"""Period-close refusals: the periods app's error codes (one enum), the exceptions services raise
with them, and the database rules that answer with the same codes."""
import enum

from sheshi.errors import CommonErrorCode, Conflict, ErrorCode, RuleViolation, register_db_rules


@enum.unique
class PeriodsErrorCode(ErrorCode):
    PERIOD_WRONG_STATE = ("period_wrong_state", 409, "The period is not in a state that allows this.")
    UNPOSTED_ENTRIES = ("unposted_entries", 422, "Unposted entries remain in the period.")
    SOFT_CLOSE_UNCONFIRMED = ("soft_close_unconfirmed", 409,
                              "The period has unposted entries or open close items: soft-close it with force and a "
                              "reason to go ahead.")
    CLOSE_CHECKLIST_INCOMPLETE = ("close_checklist_incomplete", 422,
                                  "Required close tasks or reconciliations are open or lapsed.")
    PERIOD_BATCH_REFUSED = ("period_batch_refused", 422, "The batch was refused; no period changed.")
    GROUP_MEMBERS_NOT_LOCKED = ("group_members_not_locked", 422, "Every member entity must be locked first.")
    YEAR_END_REFUSED = ("year_end_refused", 422, "The year-end close was refused.")
    YEAR_ALREADY_CLOSED = ("year_already_closed", 409, "The fiscal year is already closed for this entity.")
    YEAR_NOT_CLOSED = ("year_not_closed", 409, "The fiscal year is not closed for this entity.")
    PERIODS_STILL_OPEN = ("periods_still_open", 422, "Periods of the year are still open.")
    NOTHING_TO_CLOSE = ("nothing_to_close", 422, "The year has nothing to close.")
    RETAINED_EARNINGS_ACCOUNT = ("retained_earnings_account", 422,
                                 "The chart needs exactly one retained-earnings account.")
    RECONCILIATION_LAPSED = ("reconciliation_lapsed", 409,
                             "The balance changed since it was prepared; prepare it again.")
    RECONCILIATION_WRONG_STATE = ("reconciliation_wrong_state", 409,
                                  "The reconciliation is not in a state that allows this.")
    REFERENCE_DATA_FROZEN = ("reference_data_frozen", 422,
                             "The mapping is effective in a locked period and cannot change.")
    GROUP_PERIOD_LOCKED = ("group_period_locked", 409,
                           "A consolidation group has locked this period; unlock the group first.")
    GROUP_ALREADY_LOCKED = ("group_already_locked", 409, "The group's period is already locked.")
    LOCK_OVERRIDE_APPEND_ONLY = ("lock_override_append_only", 409, "Lock overrides cannot change.")
    SNAPSHOT_APPEND_ONLY = ("snapshot_append_only", 409, "Lock snapshots cannot change.")
    CALENDAR_FIXED = ("calendar_fixed", 409, "A period's dates cannot change.")
    LOCK_OUT_OF_ORDER = ("lock_out_of_order", 409, "Earlier periods must be locked first.")
    REOPEN_OUT_OF_ORDER = ("reopen_out_of_order", 409, "Later locked periods must be reopened first.")
    CHECKLIST_TEMPLATE_NAME_TAKEN = ("checklist_template_name_taken", 409,
                                     "The organisation already has a checklist template with this name.")
    TASK_WRONG_STATE = ("task_wrong_state", 409, "The close task is not in a state that allows this.")
    RECONCILIATION_UNEXPLAINED = ("reconciliation_unexplained", 422,
                                  "The GL and statement balances differ by more than the reconciling items explain.")
    CLOSE_RECORD_APPEND_ONLY = ("close_record_append_only", 409,
                                "Reconciling items, evidence and comments cannot change; add a new one instead.")
    EVIDENCE_ALREADY_ATTACHED = ("evidence_already_attached", 409,
                                 "This document is already attached to the reconciliation.")


class PeriodStateError(Conflict):
    error = PeriodsErrorCode.PERIOD_WRONG_STATE


class UnpostedEntriesError(RuleViolation):
    error = PeriodsErrorCode.UNPOSTED_ENTRIES


class ReasonRequiredError(RuleViolation):
    error = CommonErrorCode.REASON_REQUIRED


class SoftCloseUnconfirmedError(Conflict):
    error = PeriodsErrorCode.SOFT_CLOSE_UNCONFIRMED


class CloseChecklistIncompleteError(RuleViolation):
    error = PeriodsErrorCode.CLOSE_CHECKLIST_INCOMPLETE


class BatchRefusedError(RuleViolation):
    error = PeriodsErrorCode.PERIOD_BATCH_REFUSED


class GroupMembersNotLockedError(RuleViolation):
    error = PeriodsErrorCode.GROUP_MEMBERS_NOT_LOCKED


class YearEndError(RuleViolation):
    error = PeriodsErrorCode.YEAR_END_REFUSED


class ReconciliationLapsedError(Conflict):
    error = PeriodsErrorCode.RECONCILIATION_LAPSED


class SignOffError(RuleViolation):
    """A reviewer signing off their own preparation (also rule reconciliation_reviewer_not_preparer)."""

    error = CommonErrorCode.SEGREGATION_OF_DUTIES


P = PeriodsErrorCode
register_db_rules({
    "periods_mapping_frozen": P.REFERENCE_DATA_FROZEN,
    "periods_group_locked": P.GROUP_PERIOD_LOCKED,
    "periods_override_append_only": P.LOCK_OVERRIDE_APPEND_ONLY,
    "reconciliation_reviewer_not_preparer": CommonErrorCode.SEGREGATION_OF_DUTIES,
    "group_period_lock_unique": P.GROUP_ALREADY_LOCKED,
    "checklist_template_name_unique": P.CHECKLIST_TEMPLATE_NAME_TAKEN,
    "periods_group_members_not_locked": P.GROUP_MEMBERS_NOT_LOCKED,
    # The service's PeriodStateError and the trigger refuse the same state change: one code.
    "periods_state_transition_invalid": P.PERIOD_WRONG_STATE,
    "periods_reopen_reason_required": CommonErrorCode.REASON_REQUIRED,
    "periods_snapshot_append_only": P.SNAPSHOT_APPEND_ONLY,
    "periods_calendar_fixed": P.CALENDAR_FIXED,
    "periods_move_not_permitted": CommonErrorCode.PERMISSION_DENIED,
    "periods_lock_out_of_order": P.LOCK_OUT_OF_ORDER,
    "periods_reopen_out_of_order": P.REOPEN_OUT_OF_ORDER,
    "ledger_lock_unposted_entries": P.UNPOSTED_ENTRIES,
})


class TaskStateError(Conflict):
    error = PeriodsErrorCode.TASK_WRONG_STATE


class ReconciliationUnexplainedError(RuleViolation):
    error = PeriodsErrorCode.RECONCILIATION_UNEXPLAINED


register_db_rules({
    "checklist_task_reviewer_not_preparer": CommonErrorCode.SEGREGATION_OF_DUTIES,
    "periods_close_record_append_only": PeriodsErrorCode.CLOSE_RECORD_APPEND_ONLY,
    "reconciliation_evidence_once": PeriodsErrorCode.EVIDENCE_ALREADY_ATTACHED,
})
