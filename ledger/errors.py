"""Ledger refusals: the ledger's error codes (one enum), the exceptions services raise with them,
and the database rules (constraint/trigger names) that answer with the same codes."""
import enum

from sheshi.errors import CommonErrorCode, Conflict, ErrorCode, RuleViolation, register_db_rules


@enum.unique
class LedgerErrorCode(ErrorCode):
    ENTRY_WRONG_STATUS = ("entry_wrong_status", 409, "The journal entry is not in the required status.")
    ENTRY_UNBALANCED = ("entry_unbalanced", 422, "The entry does not balance.")
    ACCOUNT_CODE_TAKEN = ("account_code_taken", 409, "That account code is already used.")
    DATE_OUTSIDE_PERIOD = ("date_outside_period", 422, "The entry date is outside its period.")
    ENTRY_ALREADY_REVERSED = ("entry_already_reversed", 409, "The entry has already been reversed.")
    POSTER_IS_PREPARER = ("poster_is_preparer", 403, "The preparer of an entry cannot post it.")
    ENTRY_NOT_DRAFT = ("entry_not_draft", 409, "Lines change only while their entry is a draft.")
    POSTED_ENTRY_IMMUTABLE = ("posted_entry_immutable", 409, "A posted entry cannot change.")
    VOID_ENTRY_IMMUTABLE = ("void_entry_immutable", 409, "A void entry cannot change.")
    ENTRY_ENTITY_FIXED = ("entry_entity_fixed", 422, "An entry cannot move to another entity.")
    YEAR_CLOSED = ("year_closed", 422, "The fiscal year is closed for this entity.")
    LATER_PERIOD_LOCKED = ("later_period_locked", 422, "A later period of the entity is locked.")
    PERIOD_SOFT_CLOSED = ("period_soft_closed", 422, "The period is soft-closed.")
    PERIOD_NOT_OPEN = ("period_not_open", 422, "The period is not open for this entity or date.")
    NO_OPEN_PERIOD = ("no_open_period", 422, "There is no open period for this entry.")
    ENTRY_NEEDS_APPROVAL = ("entry_needs_approval", 422, "The entry needs a second person's approval.")
    APPROVER_NOT_ACTOR = ("approver_not_actor", 403, "The approver must be the acting user.")
    ACCOUNT_IDENTITY_FIXED = ("account_identity_fixed", 409, "The account is used in a locked period.")
    ENTITY_CURRENCY_FIXED = ("entity_currency_fixed", 409, "The entity's functional currency is fixed.")
    LINE_INVALID = ("line_invalid", 422, "A line is not valid for this entry.")
    ACCOUNT_PARENT_INVALID = ("account_parent_invalid", 422, "The account's parent is not valid.")
    ACCOUNT_KIND_INVALID = ("account_kind_invalid", 422, "The account's kind cannot change.")
    REFERENCE_IN_USE = ("reference_in_use", 409, "The row is referenced by the ledger.")
    REFERENCE_KEY_FIXED = ("reference_key_fixed", 409, "The id of a referenced row cannot change.")
    INVALID_CURRENCY = ("invalid_currency", 422, "The line currency is not an ISO 4217 code.")
    ZERO_LINE = ("zero_line", 422, "A line cannot be zero.")
    LINE_SIGNS_DISAGREE = ("line_signs_disagree", 422, "Amount and functional amount differ in sign.")
    BATCH_TOO_LARGE = ("batch_too_large", 413, "Too many entries in one batch.")
    REVERSE_ON_INVALID = ("reverse_on_invalid", 422, "The automatic reversal's date is not in a later period.")
    REVERSAL_PERIOD_UNAVAILABLE = ("reversal_period_unavailable", 422,
                                   "The automatic reversal's period does not exist or is locked.")
    ATTACHMENT_DUPLICATE = ("attachment_duplicate", 409, "This document is already attached to the entry.")
    ENTRY_RECORD_APPEND_ONLY = ("entry_record_append_only", 409,
                                "Attachments and comments of an entry are never changed or removed.")
    TEMPLATE_NAME_TAKEN = ("template_name_taken", 409, "The entity already has a journal template of that name.")
    BULK_POST_REFUSED = ("bulk_post_refused", 422, "Some entries cannot be posted, so none was posted.")
    RECURRENCE_STOPPED = ("recurrence_stopped", 409, "The recurrence is stopped: it no longer changes.")


class RecurrenceStoppedError(Conflict):
    error = LedgerErrorCode.RECURRENCE_STOPPED


class EntryNotInStateError(RuleViolation):
    error = LedgerErrorCode.ENTRY_WRONG_STATUS


class SegregationOfDutiesError(RuleViolation):
    """The preparer of an entry approving it (also rule entry_approver_not_preparer, below)."""

    error = CommonErrorCode.SEGREGATION_OF_DUTIES


class EntryUnbalancedError(RuleViolation):
    """The service's refusal of an entry that does not balance: the same code, status and title as
    PostgreSQL's (rule ledger_entry_unbalanced, below), with the total on the ``lines`` field."""

    error = LedgerErrorCode.ENTRY_UNBALANCED


class AccountCodeTakenError(Conflict):
    """The service's refusal of a duplicate account code, as the unique constraint's (below)."""

    error = LedgerErrorCode.ACCOUNT_CODE_TAKEN


class EntryDateOutsidePeriodError(RuleViolation):
    error = LedgerErrorCode.DATE_OUTSIDE_PERIOD


class IdempotencyConflictError(Conflict):
    error = CommonErrorCode.IDEMPOTENCY_KEY_REUSED


class AlreadyReversedError(Conflict):
    error = LedgerErrorCode.ENTRY_ALREADY_REVERSED


class PosterIsPreparerError(RuleViolation):
    """The service's refusal under the poster_not_preparer policy, as PostgreSQL's (rule
    ledger_poster_is_preparer, below): one rule, one answer."""

    error = LedgerErrorCode.POSTER_IS_PREPARER


L = LedgerErrorCode
register_db_rules({
    "ledger_line_entry_not_draft": L.ENTRY_NOT_DRAFT,
    "ledger_posted_entry_immutable": L.POSTED_ENTRY_IMMUTABLE,
    "ledger_void_entry_immutable": L.VOID_ENTRY_IMMUTABLE,
    "entry_void_has_reason": CommonErrorCode.REASON_REQUIRED,
    "ledger_entry_entity_fixed": L.ENTRY_ENTITY_FIXED,
    # The service's EntryNotInStateError and the trigger refuse the same status change: one code.
    "ledger_entry_transition_invalid": L.ENTRY_WRONG_STATUS,
    "ledger_period_locked": CommonErrorCode.PERIOD_LOCKED,
    "ledger_entry_in_locked_period": CommonErrorCode.PERIOD_LOCKED,
    "ledger_fiscal_year_closed": L.YEAR_CLOSED,
    "ledger_later_period_locked": L.LATER_PERIOD_LOCKED,
    "ledger_entry_date_outside_period": L.DATE_OUTSIDE_PERIOD,
    "ledger_approver_not_actor": L.APPROVER_NOT_ACTOR,
    "ledger_account_identity_fixed": L.ACCOUNT_IDENTITY_FIXED,
    "ledger_entity_currency_fixed": L.ENTITY_CURRENCY_FIXED,
    "ledger_period_soft_closed": L.PERIOD_SOFT_CLOSED,
    "ledger_period_not_open": L.PERIOD_NOT_OPEN,
    "ledger_entry_needs_approval": L.ENTRY_NEEDS_APPROVAL,
    "ledger_entry_unbalanced": L.ENTRY_UNBALANCED,
    "ledger_line_invalid": L.LINE_INVALID,
    "ledger_account_parent_invalid": L.ACCOUNT_PARENT_INVALID,
    "ledger_account_kind_invalid": L.ACCOUNT_KIND_INVALID,
    "ledger_line_account_missing": CommonErrorCode.REFERENCE_MISSING,
    "ledger_line_entry_missing": CommonErrorCode.REFERENCE_MISSING,
    "ledger_entry_reference_missing": CommonErrorCode.REFERENCE_MISSING,
    "ledger_reference_in_use": L.REFERENCE_IN_USE,
    "ledger_reference_key_fixed": L.REFERENCE_KEY_FIXED,
    "entry_approver_not_preparer": CommonErrorCode.SEGREGATION_OF_DUTIES,
    "ledger_poster_is_preparer": L.POSTER_IS_PREPARER,
    "entry_idempotency_key_unique": CommonErrorCode.IDEMPOTENCY_KEY_REUSED,
    "idempotency_key_used_elsewhere": CommonErrorCode.IDEMPOTENCY_KEY_REUSED,  # 0029: one key, one endpoint
    "account_code_unique_in_org": L.ACCOUNT_CODE_TAKEN,
    "line_currency_iso": L.INVALID_CURRENCY,
    "line_not_zero": L.ZERO_LINE,
    "line_amount_signs_agree": L.LINE_SIGNS_DISAGREE,
    "entry_reverse_on_after_entry_date": L.REVERSE_ON_INVALID,
    "entry_attachment_once": L.ATTACHMENT_DUPLICATE,
    "ledger_entry_record_append_only": L.ENTRY_RECORD_APPEND_ONLY,
    "journal_template_name_unique": L.TEMPLATE_NAME_TAKEN,
})


class BatchTooLargeError(RuleViolation):
    error = LedgerErrorCode.BATCH_TOO_LARGE


class BulkPostRefusedError(RuleViolation):
    """Posting several entries all or none: at least one was refused, so none was posted.
    ``refusals`` holds (entry id, the refusal) for each one, for the admin's sentences; the API
    lists them as field errors ``entries[<id>]``."""

    error = LedgerErrorCode.BULK_POST_REFUSED
    refusals: list[tuple[int, Exception]]


class AttachmentDuplicateError(Conflict):
    """The same document attached twice to an entry (as the constraint entry_attachment_once)."""

    error = LedgerErrorCode.ATTACHMENT_DUPLICATE


class TemplateNameTakenError(Conflict):
    error = LedgerErrorCode.TEMPLATE_NAME_TAKEN
