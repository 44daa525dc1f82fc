-- 0008: a finished consolidation run is a record. Its results are written once, by the
-- transition running -> succeeded, and never change after that (nor does anything else of a
-- succeeded or failed run), so the run's history needs no copy of them: the history keeps the
-- run's state, fingerprint and posting (simple-history, without the results column).
CREATE OR REPLACE FUNCTION consolidation_run_finished_frozen() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF OLD.status IN ('succeeded', 'failed') THEN
    RAISE EXCEPTION 'consolidation run % is %: a finished run is a record and never changes (run it again instead)',
      OLD.id, OLD.status
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'consolidation_run_finished';
  END IF;
  IF NEW.results IS DISTINCT FROM OLD.results AND NEW.status <> 'succeeded' THEN
    RAISE EXCEPTION 'consolidation run %: results are written only with its success', OLD.id
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'consolidation_run_finished';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER consolidation_run_finished_frozen BEFORE UPDATE ON consolidation_consolidationrun
  FOR EACH ROW EXECUTE FUNCTION consolidation_run_finished_frozen();

-- The results (megabytes of JSON for a large group) are compressed with lz4, several times
-- faster to write than the default pglz.
ALTER TABLE consolidation_consolidationrun ALTER COLUMN results SET COMPRESSION lz4;
