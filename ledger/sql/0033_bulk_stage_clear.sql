-- 0033: the bulk path posts a large batch chunk by chunk (ledger/services/bulk.py): each chunk is
-- staged, moved into the real tables by one INSERT per table, and the staging tables are emptied
-- for the next chunk. The owner made them (0016), so the owner empties them; the session's login
-- role may only fill and read them.
CREATE OR REPLACE FUNCTION ledger_bulk_stage_clear() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  TRUNCATE pg_temp.ledger_bulk_entries, pg_temp.ledger_bulk_lines;
END $$;
