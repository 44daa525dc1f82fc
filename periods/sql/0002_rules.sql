-- Period state moves follow open → soft_closed → locked; reopening needs a written reason.
-- Enforced here so that even a raw SQL session with the application's credentials cannot
-- silently unlock a period (the service layer also checks the reopen permission).
CREATE OR REPLACE FUNCTION periods_entity_period_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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

CREATE TRIGGER periods_entity_period_guard BEFORE UPDATE OR DELETE ON periods_entityperiod
  FOR EACH ROW EXECUTE FUNCTION periods_entity_period_guard();

-- Lock snapshots are evidence: append-only.
CREATE OR REPLACE FUNCTION periods_snapshot_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'period lock snapshots are append-only'
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_snapshot_append_only';
END $$;
CREATE TRIGGER periods_snapshot_append_only BEFORE UPDATE OR DELETE ON periods_periodlocksnapshot
  FOR EACH ROW EXECUTE FUNCTION periods_snapshot_append_only();
CREATE TRIGGER periods_snapshot_no_truncate BEFORE TRUNCATE ON periods_periodlocksnapshot
  FOR EACH STATEMENT EXECUTE FUNCTION periods_snapshot_append_only();
