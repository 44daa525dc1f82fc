-- Back to 0003's guard (no void). Void entries must be gone first: the status check refuses them.
CREATE OR REPLACE FUNCTION ledger_entry_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  IF OLD.status = 'posted' THEN
    RAISE EXCEPTION 'journal entry % is posted: correct it with a reversal', OLD.id
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_posted_entry_immutable';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  IF NEW.organisation_id <> OLD.organisation_id OR NEW.entity_id <> OLD.entity_id THEN
    RAISE EXCEPTION 'journal entry % cannot move to another entity', OLD.id
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entry_entity_fixed';
  END IF;
  IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
      ('draft', 'submitted'), ('submitted', 'draft'), ('submitted', 'approved'), ('approved', 'draft'),
      ('draft', 'posted'), ('submitted', 'posted'), ('approved', 'posted')) THEN
    RAISE EXCEPTION 'journal entry % cannot go from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entry_transition_invalid';
  END IF;
  RETURN NEW;
END $$;
