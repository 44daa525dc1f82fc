-- ledger_analyze_if_grown (0006) ran ANALYZE on every batch of 10,000 lines or more that added
-- over a fifth of the table: on a young table every batch (five in a row from empty, at 10,000
-- entries a request), 0.1-0.3 s each inside the posting transaction, a fifth of a batch
-- request's time in bench.ledger.batch_api. The plan trouble it guards against is a table the
-- planner believes empty or a fraction of its size (a 250k-line batch into never-analysed tables
-- took 73 s instead of 7 s); the planner scales the row count of the last ANALYZE to the table's
-- current pages, and the posting checks stay linear under any plan (0003). So: only when the
-- batch at least doubles the table as last analysed (or it never was).
CREATE OR REPLACE FUNCTION ledger_analyze_if_grown(p_new_rows bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  known real;
BEGIN
  SELECT reltuples INTO known FROM pg_class WHERE oid = 'ledger_journalline'::regclass;
  IF p_new_rows >= 10000 AND p_new_rows >= greatest(known, 0) THEN
    ANALYZE ledger_journalline;
    ANALYZE ledger_balance;
    RETURN true;
  END IF;
  RETURN false;
END $$;
