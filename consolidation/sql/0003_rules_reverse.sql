DROP TRIGGER IF EXISTS consolidation_group_elimination_ledger_guard ON consolidation_consolidationgroup;
DROP TRIGGER IF EXISTS consolidation_member_not_elimination_ledger ON consolidation_groupmember;
DROP FUNCTION IF EXISTS consolidation_group_elimination_ledger_guard();
DROP FUNCTION IF EXISTS consolidation_member_not_elimination_ledger();
DROP FUNCTION IF EXISTS consolidation_is_group_member(bigint);
DROP FUNCTION IF EXISTS consolidation_is_elimination_ledger(bigint);
