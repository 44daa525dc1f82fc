DROP TRIGGER IF EXISTS ledger_lock_unposted_guard ON periods_entityperiod;
DROP FUNCTION IF EXISTS ledger_lock_unposted_guard();
DROP TRIGGER IF EXISTS ledger_entry_period_guard_insert ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_entry_period_guard_update ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_entry_period_guard();
