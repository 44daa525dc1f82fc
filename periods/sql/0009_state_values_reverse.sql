-- Restores the guard of 0002 (with 0006's search_path).
CREATE OR REPLACE FUNCTION periods_entity_period_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.state <> 'open' OR EXISTS (SELECT 1 FROM ledger_journalentry je
                                       WHERE je.entity_id = OLD.entity_id AND je.period_id = OLD.period_id) THEN
      RAISE EXCEPTION 'entity period % has entries or is not open: it cannot be deleted', OLD.id
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_state_transition_invalid';
    END IF;
    RETURN OLD;
  END IF;
  IF NEW.entity_id <> OLD.entity_id OR NEW.period_id <> OLD.period_id OR NEW.organisation_id <> OLD.organisation_id THEN
    RAISE EXCEPTION 'entity period % cannot be re-pointed', OLD.id
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_state_transition_invalid';
  END IF;
  IF NEW.state = OLD.state THEN
    RETURN NEW;
  END IF;
  IF (OLD.state, NEW.state) NOT IN (('open', 'soft_closed'), ('soft_closed', 'locked'), ('open', 'locked'),
                                    ('soft_closed', 'open'), ('locked', 'soft_closed'), ('locked', 'open')) THEN
    RAISE EXCEPTION 'entity period % cannot go from % to %', OLD.id, OLD.state, NEW.state
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_state_transition_invalid';
  END IF;
  IF OLD.state = 'locked' AND (NEW.reason IS NULL OR btrim(NEW.reason) = '' OR NEW.reason = OLD.reason) THEN
    RAISE EXCEPTION 'reopening entity period % needs a new written reason', OLD.id
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_reopen_reason_required';
  END IF;
  RETURN NEW;
END $$;
