-- 0015: lines written for an entry id that did not exist yet, whose entry another transaction
-- then inserted as posted. That posting's checks and balance upsert could not see the lines (not
-- committed yet), so at commit they are refused unless the entry they joined is still a draft.
-- (The deferred foreign key before 0008 had the same gap; it needs raw SQL and a guessed id.)

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
  -- The entry exists, but another transaction inserted it (ours would have cleared this check):
  -- its posting could not see these lines, so they may join it only while it is a draft.
  SELECT e.id INTO bad FROM ledger_journalentry e
   WHERE e.id = ANY (NEW.entry_ids) AND e.status <> 'draft'
     AND EXISTS (SELECT 1 FROM ledger_journalline l WHERE l.entry_id = e.id)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % is not a draft: its lines cannot change', bad
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_line_entry_not_draft';
  END IF;
  DELETE FROM ledger_line_entry_pending WHERE id = NEW.id;
  RETURN NULL;
END $$;
