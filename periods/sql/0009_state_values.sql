-- 0009 (issue #20): the entity-period guard refused "a move outside the transition table", but the
-- table listed all six moves between the three states, so it refused only a state outside the
-- three. Every one of the six is a move some service makes: soft-close (open → soft_closed),
-- lock from open or soft-closed (entity_period_lock refuses only 'already locked'), reopen from
-- soft-closed or locked to open, and from locked back to soft_closed (entity_period_reopen's `to`).
-- So there is no move to refuse; what is enforceable is that the new state is one of the three
-- (checked here by name before the entity_period_state_valid CHECK sees it). The other rules on a
-- move stay where they are: a reason to leave 'locked' (below), the mover's grants
-- (periods_move_permitted, 0006) and the order of locks and reopens (0007).
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
  IF NEW.state NOT IN ('open', 'soft_closed', 'locked') THEN
    RAISE EXCEPTION 'entity period % cannot move to %: a period is open, soft_closed or locked', OLD.id, NEW.state
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_state_transition_invalid';
  END IF;
  IF OLD.state = 'locked' AND (NEW.reason IS NULL OR btrim(NEW.reason) = '' OR NEW.reason = OLD.reason) THEN
    RAISE EXCEPTION 'reopening entity period % needs a new written reason', OLD.id
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_reopen_reason_required';
  END IF;
  RETURN NEW;
END $$;
