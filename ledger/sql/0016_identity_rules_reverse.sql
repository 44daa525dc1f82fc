DROP TRIGGER IF EXISTS ledger_entity_currency_guard ON tenancy_entity;
DROP FUNCTION IF EXISTS ledger_entity_currency_guard();
DROP TRIGGER IF EXISTS ledger_account_identity_guard ON ledger_account;
DROP FUNCTION IF EXISTS ledger_account_identity_guard();
DROP TRIGGER IF EXISTS ledger_entry_approver_guard ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_entry_approver_guard_update ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_entry_approver_guard();
