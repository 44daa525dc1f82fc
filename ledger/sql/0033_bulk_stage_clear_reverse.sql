DROP FUNCTION IF EXISTS ledger_bulk_stage_clear();
