"""Consolidation refusals, and the database rules mapped to the same codes."""
from __future__ import annotations

from sheshi.errors import Conflict, DbRule, RuleViolation, register_db_rules


class FxRateFrozenError(RuleViolation):
    code, title = "fx_rate_frozen", "The rate belongs to a locked period and cannot change."


class RunNotInStateError(Conflict):
    code, title = "consolidation_run_wrong_state", "The run is not in a state that allows this."


class GroupNotFoundError(RuleViolation):
    code, title, status = "consolidation_group_not_found", "No such consolidation group.", 404


class EliminationLedgerCodeTakenError(Conflict):
    code, title = "elimination_ledger_code_taken", "The elimination ledger's entity code is already in use."


class IcDifferenceWrongStateError(Conflict):
    code, title = "ic_difference_wrong_state", "The intercompany difference is not in a state that allows this."


class IcUnresolvedError(RuleViolation):
    code, title = "ic_differences_unresolved", "Open intercompany differences must be explained or resolved first."


register_db_rules({
    "ic_difference_status_has_text": DbRule(
        "ic_explanation_required", "An explained difference needs its explanation, a resolved one its resolution."),
    "ic_difference_pair_unique": DbRule("ic_difference_duplicate",
                                        "The worklist already holds this pair for the group and period.", 409),
    "ic_difference_status_valid": DbRule("ic_difference_status_invalid", "Use open, explained or resolved."),
    "ic_difference_is_the_sum": DbRule("ic_difference_not_the_sum",
                                       "The difference is the sum of the two members' amounts."),
    "ic_comment_not_blank": DbRule("ic_comment_blank", "A comment needs some text."),
    "consolidation_group_code_unique": DbRule("group_code_taken",
                                              "The organisation already has a group with this code.", 409),
    "consolidation_elimination_ledger_not_member": DbRule(
        "elimination_ledger_not_member", "A group's elimination ledger is never a member of a group.", 409),
    "consolidation_fx_rate_frozen": DbRule("fx_rate_frozen", "The rate belongs to a locked period and cannot change."),
    "consolidation_input_frozen": DbRule("input_frozen", "The holding or adjustment applies to a locked period.", 409),
    "fx_rate_unique": DbRule("fx_rate_duplicate", "A rate of this type already exists for this pair and date.", 409),
    "group_member_no_overlap": DbRule("holding_overlap", "The entity already has a holding in this group then.", 409),
    "group_member_ownership_valid": DbRule("ownership_invalid",
                                           "Ownership must be above 0 and at most 100, with a parent and date."),
    "adjustment_net_assets_once": DbRule("net_assets_duplicate",
                                         "The member already has its net assets at acquisition.", 409),
    "fx_rate_positive": DbRule("fx_rate_not_positive", "A rate must be above zero."),
    "fx_rate_two_currencies": DbRule("fx_rate_same_currency", "A rate converts between two different currencies."),
    "group_member_not_own_parent": DbRule("holding_own_parent", "An entity cannot hold itself."),
    "adjustment_unrealised_profit_complete": DbRule(
        "unrealised_profit_incomplete",
        "Unrealised profit needs a period, a buyer, an amount of zero or more and both accounts."),
})
