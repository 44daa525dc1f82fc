-- 0032: ledger_analyze_if_grown of 0028, with one change: the line table is analysed on the
-- columns the posting's plans join and filter on, not on all of them. ANALYZE of every column
-- (the numeric amounts, the jsonb dimensions, memo and source text included) took ~0.11 s of CPU
-- at 40,000 lines, inside the posting transaction of the batch that doubles the table; these
-- columns take ~0.04 s. Row and page counts are refreshed all the same (what planning a young
-- table needed), and a column list does not reset the table's count of changes since its last
-- analysis, so autovacuum still analyses every column once enough has changed.
CREATE OR REPLACE FUNCTION ledger_analyze_if_grown(p_new_rows bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  known real;
BEGIN
  SELECT reltuples INTO known FROM pg_class WHERE oid = 'ledger_journalline'::regclass;
  IF p_new_rows >= 10000 AND p_new_rows >= greatest(known, 0) THEN
    ANALYZE ledger_journalline (id, organisation_id, entity_id, period_id, entry_id, line_no, account_id, currency,
                                counterparty_id, import_batch_id);
    ANALYZE ledger_balance;
    RETURN true;
  END IF;
  RETURN false;
END $$;
