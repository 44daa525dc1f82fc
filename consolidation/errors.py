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


register_db_rules({
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
