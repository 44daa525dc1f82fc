DROP TRIGGER IF EXISTS ledger_lock_snapshot_take ON periods_entityperiod;
DROP FUNCTION IF EXISTS ledger_lock_snapshot_take();
DROP FUNCTION IF EXISTS ledger_trial_balance_digest(bigint, bigint);
