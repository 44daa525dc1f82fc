-- 0023: supporting documents and comments of journal entries are evidence of how an entry came
-- to be: rows are added, never changed or removed. A wrong comment is answered by another one.
CREATE OR REPLACE FUNCTION ledger_entry_record_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  RAISE EXCEPTION '% rows are append-only: add a new row instead', TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entry_record_append_only';
END $$;

CREATE TRIGGER ledger_entry_record_append_only BEFORE UPDATE OR DELETE ON ledger_journalentryattachment
  FOR EACH ROW EXECUTE FUNCTION ledger_entry_record_append_only();
CREATE TRIGGER ledger_entry_record_no_truncate BEFORE TRUNCATE ON ledger_journalentryattachment
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_record_append_only();
CREATE TRIGGER ledger_entry_record_append_only BEFORE UPDATE OR DELETE ON ledger_journalentrycomment
  FOR EACH ROW EXECUTE FUNCTION ledger_entry_record_append_only();
CREATE TRIGGER ledger_entry_record_no_truncate BEFORE TRUNCATE ON ledger_journalentrycomment
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_record_append_only();
