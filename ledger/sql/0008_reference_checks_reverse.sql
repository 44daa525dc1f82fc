-- Reverse of 0008: drop the statement-level reference checks (the migration's AlterFields put the
-- foreign keys back) and restore 0003's lines guard.
DROP TRIGGER IF EXISTS ledger_entry_refs_insert ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_entry_refs_update ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_referenced_delete ON tenancy_organisation;
DROP TRIGGER IF EXISTS ledger_referenced_key_fixed ON tenancy_organisation;
DROP TRIGGER IF EXISTS ledger_referenced_delete ON tenancy_entity;
DROP TRIGGER IF EXISTS ledger_referenced_key_fixed ON tenancy_entity;
DROP TRIGGER IF EXISTS ledger_referenced_delete ON periods_period;
DROP TRIGGER IF EXISTS ledger_referenced_key_fixed ON periods_period;
DROP TRIGGER IF EXISTS ledger_referenced_delete ON auth_user;
DROP TRIGGER IF EXISTS ledger_referenced_key_fixed ON auth_user;
DROP TRIGGER IF EXISTS ledger_referenced_delete ON ledger_account;
DROP TRIGGER IF EXISTS ledger_referenced_key_fixed ON ledger_account;
DROP TRIGGER IF EXISTS ledger_referenced_delete ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_referenced_key_fixed ON ledger_journalentry;
DROP TABLE IF EXISTS ledger_line_entry_pending;
DROP FUNCTION IF EXISTS ledger_line_entry_check();
DROP FUNCTION IF EXISTS ledger_entry_refs_check();
DROP FUNCTION IF EXISTS ledger_referenced_delete_check();
DROP FUNCTION IF EXISTS ledger_referenced_key_fixed();

CREATE OR REPLACE FUNCTION ledger_lines_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  bad bigint;
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT n.entry_id INTO bad FROM new_lines n JOIN ledger_journalentry e ON e.id = n.entry_id
     WHERE e.status <> 'draft' LIMIT 1;
  END IF;
  IF bad IS NULL AND TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT o.entry_id INTO bad FROM old_lines o JOIN ledger_journalentry e ON e.id = o.entry_id
     WHERE e.status <> 'draft' LIMIT 1;
  END IF;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry % is not a draft: its lines cannot change', bad
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_line_entry_not_draft';
  END IF;
  RETURN NULL;
END $$;
