-- Back to 0011's version.
CREATE OR REPLACE FUNCTION ledger_line_entry_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  bad bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ledger_line_entry_pending WHERE id = NEW.id) THEN
    RETURN NULL;  -- cleared by the statement that inserted the entries (see ledger_entry_refs_check)
  END IF;
  PERFORM 1 FROM ledger_journalentry e WHERE e.id = ANY (NEW.entry_ids) ORDER BY e.id FOR KEY SHARE;
  SELECT x INTO bad FROM unnest(NEW.entry_ids) x
   WHERE NOT EXISTS (SELECT 1 FROM ledger_journalentry e WHERE e.id = x)
     AND EXISTS (SELECT 1 FROM ledger_journalline l WHERE l.entry_id = x)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % does not exist: its lines cannot be kept', bad
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_line_entry_missing';
  END IF;
  DELETE FROM ledger_line_entry_pending WHERE id = NEW.id;
  RETURN NULL;
END $$;
