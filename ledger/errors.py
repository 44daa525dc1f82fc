"""Ledger refusals. Database rule names map to the same codes (sheshi.errors.DB_RULES)."""
from sheshi.errors import Conflict, DbRule, RuleViolation, SheshiError, register_db_rules


class EntryNotInStateError(RuleViolation):
    code, title, status = "entry_wrong_status", "The journal entry is not in the required status.", 409


class SegregationOfDutiesError(RuleViolation):
    code, title, status = "segregation_of_duties", "The preparer of an entry cannot approve it.", 403


class EntryUnbalancedError(RuleViolation):
    """The service's refusal of an entry that does not balance: the same code, status and title as
    PostgreSQL's (rule ledger_entry_unbalanced, below), with the total on the ``lines`` field."""

    code, title = "entry_unbalanced", "The entry does not balance."


class AccountCodeTakenError(Conflict):
    """The service's refusal of a duplicate account code, as the unique constraint's (below)."""

    code, title = "account_code_taken", "That account code is already used."


class EntryDateOutsidePeriodError(RuleViolation):
    code, title = "date_outside_period", "The entry date is outside its period."


class IdempotencyConflictError(Conflict):
    code, title = "idempotency_key_reused", "This Idempotency-Key was used with a different request body."


class AlreadyReversedError(Conflict):
    code, title = "entry_already_reversed", "The entry has already been reversed."


class PosterIsPreparerError(RuleViolation):
    """The service's refusal under the poster_not_preparer policy, as PostgreSQL's (rule
    ledger_poster_is_preparer, below): one rule, one answer."""

    code, title, status = "poster_is_preparer", "The preparer of an entry cannot post it.", 403


register_db_rules({
    "ledger_line_entry_not_draft": DbRule("entry_not_draft", "Lines change only while their entry is a draft.", 409),
    "ledger_posted_entry_immutable": DbRule("posted_entry_immutable", "A posted entry cannot change.", 409),
    "ledger_void_entry_immutable": DbRule("void_entry_immutable", "A void entry cannot change.", 409),
    "entry_void_has_reason": DbRule("reason_required", "Voiding an entry needs a reason.", 422),
    "ledger_entry_entity_fixed": DbRule("entry_entity_fixed", "An entry cannot move to another entity.", 422),
    "ledger_entry_transition_invalid": DbRule("entry_transition_invalid", "That status change is not allowed.", 409),
    "ledger_period_locked": DbRule("period_locked", "The period is locked.", 422),
    "ledger_entry_in_locked_period": DbRule("period_locked", "The period is locked.", 422),
    "ledger_fiscal_year_closed": DbRule("year_closed", "The fiscal year is closed for this entity.", 422),
    "ledger_later_period_locked": DbRule("later_period_locked", "A later period of the entity is locked.", 422),
    "ledger_entry_date_outside_period": DbRule("date_outside_period", "The entry date is outside its period.", 422),
    "ledger_lock_unposted_entries": DbRule("unposted_entries", "The period has unposted entries.", 409),
    "ledger_approver_not_actor": DbRule("approver_not_actor", "The approver must be the acting user.", 403),
    "ledger_account_identity_fixed": DbRule("account_identity_fixed", "The account is used in a locked period.",
                                            409),
    "ledger_entity_currency_fixed": DbRule("entity_currency_fixed", "The entity's functional currency is fixed.",
                                           409),
    "ledger_period_soft_closed": DbRule("period_soft_closed", "The period is soft-closed.", 422),
    "ledger_period_not_open": DbRule("period_not_open", "The period is not open for this entity or date.", 422),
    "ledger_entry_needs_approval": DbRule("entry_needs_approval", "The entry needs a second person's approval.", 422),
    "ledger_entry_unbalanced": DbRule("entry_unbalanced", "The entry does not balance.", 422),
    "ledger_line_invalid": DbRule("line_invalid", "A line is not valid for this entry.", 422),
    "ledger_account_parent_invalid": DbRule("account_parent_invalid", "The account's parent is not valid.", 422),
    "ledger_account_kind_invalid": DbRule("account_kind_invalid", "The account's kind cannot change.", 422),
    "ledger_line_account_missing": DbRule("reference_missing", "The line's account does not exist in the organisation.",
                                          422),
    "ledger_line_entry_missing": DbRule("reference_missing", "The line's journal entry does not exist.", 422),
    "ledger_entry_reference_missing": DbRule("reference_missing", "The entry references a row that does not exist.",
                                             422),
    "ledger_reference_in_use": DbRule("reference_in_use", "The row is referenced by the ledger.", 409),
    "ledger_reference_key_fixed": DbRule("reference_key_fixed", "The id of a referenced row cannot change.", 409),
    "entry_approver_not_preparer": DbRule("segregation_of_duties", "The preparer of an entry cannot approve it.", 403),
    "ledger_poster_is_preparer": DbRule("poster_is_preparer", "The preparer of an entry cannot post it.", 403),
    "entry_idempotency_key_unique": DbRule("idempotency_key_reused", "This Idempotency-Key was already used.", 409),
    "account_code_unique_in_org": DbRule("account_code_taken", "That account code is already used.", 409),
    "line_currency_iso": DbRule("invalid_currency", "The line currency is not an ISO 4217 code.", 422),
    "line_not_zero": DbRule("zero_line", "A line cannot be zero.", 422),
    "line_amount_signs_agree": DbRule("line_signs_disagree", "Amount and functional amount differ in sign.", 422),
    "periods_state_transition_invalid": DbRule("period_transition_invalid", "Period state change refused.", 409),
    "periods_reopen_reason_required": DbRule("reason_required", "Reopening a locked period needs a reason.", 422),
    "periods_snapshot_append_only": DbRule("snapshot_append_only", "Lock snapshots cannot change.", 409),
    "periods_calendar_fixed": DbRule("calendar_fixed", "A period's dates cannot change.", 409),
    "periods_move_not_permitted": DbRule("permission_denied", "You may not move this period.", 403),
    "periods_lock_out_of_order": DbRule("lock_out_of_order", "Earlier periods must be locked first.", 409),
    "periods_reopen_out_of_order": DbRule("reopen_out_of_order", "Later locked periods must be reopened first.",
                                          409),
    "tenancy_entity_organisation_fixed": DbRule("entity_organisation_fixed", "An entity cannot change organisation.",
                                                409),
    "tenancy_permission_grant_refused": DbRule("permission_denied", "You may not grant this permission.", 403),
    "sheshi_history_row_forged": DbRule("history_row_forged", "A history row must record this change.", 422),
})


class BatchTooLargeError(SheshiError):
    code, title, status = "batch_too_large", "Too many entries in one batch.", 413
