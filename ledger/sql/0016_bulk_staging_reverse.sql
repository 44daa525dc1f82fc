DROP FUNCTION IF EXISTS ledger_bulk_stage_create(text[], text[]);
DROP FUNCTION IF EXISTS ledger_bulk_stage_drop();
