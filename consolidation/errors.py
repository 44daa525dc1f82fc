"""Consolidation refusals: the app's error codes (one enum), the exceptions services raise with
them, and the database rules mapped to the same codes."""
from __future__ import annotations

import enum

from sheshi.errors import Conflict, ErrorCode, RuleViolation, register_db_rules


@enum.unique
class ConsolidationErrorCode(ErrorCode):
    FX_RATE_FROZEN = ("fx_rate_frozen", 422, "The rate belongs to a locked period and cannot change.")
    RUN_WRONG_STATE = ("consolidation_run_wrong_state", 409, "The run is not in a state that allows this.")
    RUN_NOT_SUCCEEDED = ("consolidation_run_not_succeeded", 409, "Results exist only for a succeeded run.")
    ELIMINATION_LEDGER_CODE_TAKEN = ("elimination_ledger_code_taken", 409,
                                     "The elimination ledger's entity code is already in use.")
    INPUT_INVALID = ("consolidation_input_invalid", 422, "The consolidation inputs are not consistent.")
    RATE_MISSING = ("rate_missing", 422, "A rate needed to translate a member is missing.")
    TRIAL_BALANCE_UNBALANCED = ("trial_balance_unbalanced", 422, "A member's trial balance does not balance.")
    NET_ASSETS_MISSING = ("net_assets_missing", 422, "A member has no net assets at acquisition.")
    NEGATIVE_GOODWILL = ("negative_goodwill", 422, "The acquisition shows negative goodwill.")
    GROUP_PACK_INVALID = ("group_pack_invalid", 400, "The group pack is not valid.")
    ROLE_ACCOUNT_MISSING = ("role_account_missing", 422, "The group chart lacks an account with a needed role.")
    UNBALANCED = ("consolidation_unbalanced", 500, "The consolidated trial balance does not balance.")
    GROUP_CODE_TAKEN = ("group_code_taken", 409, "The organisation already has a group with this code.")
    ELIMINATION_LEDGER_NOT_MEMBER = ("elimination_ledger_not_member", 409,
                                     "A group's elimination ledger is never a member of a group.")
    INPUT_FROZEN = ("input_frozen", 409, "The holding or adjustment applies to a locked period.")
    FX_RATE_DUPLICATE = ("fx_rate_duplicate", 409, "A rate of this type already exists for this pair and date.")
    GROUP_NOT_LOCKED = ("group_not_locked", 409, "The group has not locked this period.")
    HOLDING_OVERLAP = ("holding_overlap", 409, "The entity already has a holding in this group then.")
    OWNERSHIP_INVALID = ("ownership_invalid", 422, "Ownership must be above 0 and at most 100, with a parent and date.")
    NET_ASSETS_DUPLICATE = ("net_assets_duplicate", 409, "The member already has its net assets at acquisition.")
    FX_RATE_NOT_POSITIVE = ("fx_rate_not_positive", 422, "A rate must be above zero.")
    FX_RATE_SAME_CURRENCY = ("fx_rate_same_currency", 422, "A rate converts between two different currencies.")
    HOLDING_OWN_PARENT = ("holding_own_parent", 422, "An entity cannot hold itself.")
    UNREALISED_PROFIT_INCOMPLETE = ("unrealised_profit_incomplete", 422,
                                    "Unrealised profit needs a period, a buyer, an amount of zero or more and both "
                                    "accounts.")
    IC_DIFFERENCE_WRONG_STATE = ("ic_difference_wrong_state", 409,
                                 "The intercompany difference is not in a state that allows this.")
    IC_DIFFERENCES_UNRESOLVED = ("ic_differences_unresolved", 422,
                                 "Open intercompany differences must be explained or resolved first.")
    IC_EXPLANATION_REQUIRED = ("ic_explanation_required", 422,
                               "An explained difference needs its explanation, a resolved one its resolution.")
    IC_DIFFERENCE_DUPLICATE = ("ic_difference_duplicate", 409,
                               "The worklist already holds this pair for the group and period.")
    IC_DIFFERENCE_STATUS_INVALID = ("ic_difference_status_invalid", 422, "Use open, explained or resolved.")
    IC_DIFFERENCE_NOT_THE_SUM = ("ic_difference_not_the_sum", 422,
                                 "The difference is the sum of the two members' amounts.")
    IC_COMMENT_BLANK = ("ic_comment_blank", 422, "A comment needs some text.")
    RUN_FINISHED = ("consolidation_run_finished", 409, "A finished run is a record and never changes.")


class RunNotInStateError(Conflict):
    error = ConsolidationErrorCode.RUN_WRONG_STATE


class EliminationLedgerCodeTakenError(Conflict):
    error = ConsolidationErrorCode.ELIMINATION_LEDGER_CODE_TAKEN


class IcDifferenceWrongStateError(Conflict):
    error = ConsolidationErrorCode.IC_DIFFERENCE_WRONG_STATE


class IcUnresolvedError(RuleViolation):
    error = ConsolidationErrorCode.IC_DIFFERENCES_UNRESOLVED


C = ConsolidationErrorCode
register_db_rules({
    "consolidation_group_code_unique": C.GROUP_CODE_TAKEN,
    "consolidation_elimination_ledger_not_member": C.ELIMINATION_LEDGER_NOT_MEMBER,
    "consolidation_fx_rate_frozen": C.FX_RATE_FROZEN,
    "consolidation_input_frozen": C.INPUT_FROZEN,
    "fx_rate_unique": C.FX_RATE_DUPLICATE,
    "group_member_no_overlap": C.HOLDING_OVERLAP,
    "group_member_ownership_valid": C.OWNERSHIP_INVALID,
    "adjustment_net_assets_once": C.NET_ASSETS_DUPLICATE,
    "fx_rate_positive": C.FX_RATE_NOT_POSITIVE,
    "fx_rate_two_currencies": C.FX_RATE_SAME_CURRENCY,
    "group_member_not_own_parent": C.HOLDING_OWN_PARENT,
    "adjustment_unrealised_profit_complete": C.UNREALISED_PROFIT_INCOMPLETE,
    "ic_difference_status_has_text": C.IC_EXPLANATION_REQUIRED,
    "ic_difference_pair_unique": C.IC_DIFFERENCE_DUPLICATE,
    "ic_difference_status_valid": C.IC_DIFFERENCE_STATUS_INVALID,
    "ic_difference_is_the_sum": C.IC_DIFFERENCE_NOT_THE_SUM,
    "ic_comment_not_blank": C.IC_COMMENT_BLANK,
    "consolidation_run_finished": C.RUN_FINISHED,
})
