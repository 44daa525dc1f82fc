-- 0008: the close workspace's records (reconciling items, reconciliation evidence, task
-- comments) are evidence of how a period was closed: rows are added, never changed or removed.
-- A wrong reconciling item is offset by another item, so the trail shows both.
CREATE OR REPLACE FUNCTION periods_close_record_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  RAISE EXCEPTION '% rows are append-only: add a new row instead', TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_close_record_append_only';
END $$;

CREATE TRIGGER periods_close_record_append_only BEFORE UPDATE OR DELETE ON periods_reconcilingitem
  FOR EACH ROW EXECUTE FUNCTION periods_close_record_append_only();
CREATE TRIGGER periods_close_record_no_truncate BEFORE TRUNCATE ON periods_reconcilingitem
  FOR EACH STATEMENT EXECUTE FUNCTION periods_close_record_append_only();
CREATE TRIGGER periods_close_record_append_only BEFORE UPDATE OR DELETE ON periods_reconciliationevidence
  FOR EACH ROW EXECUTE FUNCTION periods_close_record_append_only();
CREATE TRIGGER periods_close_record_no_truncate BEFORE TRUNCATE ON periods_reconciliationevidence
  FOR EACH STATEMENT EXECUTE FUNCTION periods_close_record_append_only();
CREATE TRIGGER periods_close_record_append_only BEFORE UPDATE OR DELETE ON periods_checklisttaskcomment
  FOR EACH ROW EXECUTE FUNCTION periods_close_record_append_only();
CREATE TRIGGER periods_close_record_no_truncate BEFORE TRUNCATE ON periods_checklisttaskcomment
  FOR EACH STATEMENT EXECUTE FUNCTION periods_close_record_append_only();
