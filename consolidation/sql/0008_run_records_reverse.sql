ALTER TABLE consolidation_consolidationrun ALTER COLUMN results SET COMPRESSION default;
DROP TRIGGER IF EXISTS consolidation_run_finished_frozen ON consolidation_consolidationrun;
DROP FUNCTION IF EXISTS consolidation_run_finished_frozen();
