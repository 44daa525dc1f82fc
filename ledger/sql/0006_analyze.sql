-- Statistics after a large batch: the posting INSERT … SELECT is planned from the table's
-- statistics, and a first big import into a table the planner still believes small gets a plan
-- that is ten times slower (seen in bench/ledger). The app role may not ANALYZE a table it does
-- not own, so the owner's function does it, only when the batch is large next to the table.
CREATE OR REPLACE FUNCTION ledger_analyze_if_grown(p_new_rows bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  known real;
BEGIN
  SELECT reltuples INTO known FROM pg_class WHERE oid = 'ledger_journalline'::regclass;
  IF p_new_rows >= 10000 AND p_new_rows > greatest(known, 0) * 0.2 THEN
    ANALYZE ledger_journalline;
    ANALYZE ledger_balance;
    RETURN true;
  END IF;
  RETURN false;
END $$;
