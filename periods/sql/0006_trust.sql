-- 0006: a calendar that never moves under posted figures, and period moves checked against the
-- acting user's grants in the database (not only in the services).

-- A period's dates, number, code, fiscal year and organisation never change: moving a period's
-- dates would let an entry dated inside a locked month be posted to an open one (the posting
-- rule checks the date against the period's dates). A wrong calendar is replaced by a new fiscal
-- year while unused; a used one is history.
CREATE OR REPLACE FUNCTION periods_calendar_fixed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF TG_TABLE_NAME = 'periods_period' THEN
    IF (NEW.organisation_id, NEW.fiscal_year_id, NEW.number, NEW.code, NEW.start_date, NEW.end_date)
       IS DISTINCT FROM (OLD.organisation_id, OLD.fiscal_year_id, OLD.number, OLD.code, OLD.start_date, OLD.end_date) THEN
      RAISE EXCEPTION 'period % cannot change its dates, number, code or fiscal year', OLD.code
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_calendar_fixed';
    END IF;
  ELSIF (NEW.organisation_id, NEW.code, NEW.start_date, NEW.end_date)
        IS DISTINCT FROM (OLD.organisation_id, OLD.code, OLD.start_date, OLD.end_date) THEN
    RAISE EXCEPTION 'fiscal year % cannot change its dates or code', OLD.code
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_calendar_fixed';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER periods_calendar_fixed BEFORE UPDATE ON periods_period
  FOR EACH ROW EXECUTE FUNCTION periods_calendar_fixed();
CREATE TRIGGER periods_calendar_fixed BEFORE UPDATE ON periods_fiscalyear
  FOR EACH ROW EXECUTE FUNCTION periods_calendar_fixed();

-- An entity-period starts open: a row inserted already locked would carry no lock snapshot and
-- would skip every check of the move into 'locked'.
CREATE OR REPLACE FUNCTION periods_entity_period_starts_open() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF NEW.state <> 'open' THEN
    RAISE EXCEPTION 'entity period for entity % starts open, not %', NEW.entity_id, NEW.state
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_state_transition_invalid';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER periods_entity_period_starts_open BEFORE INSERT ON periods_entityperiod
  FOR EACH ROW EXECUTE FUNCTION periods_entity_period_starts_open();

-- Closing (soft-close, lock) needs close_periods on the entity, reopening (any move down)
-- reopen_periods, and the user recorded as having made the move is the acting user: a session
-- that writes the state column itself is held to the same grants as the services.
CREATE OR REPLACE FUNCTION periods_move_permitted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_rank_old int := array_position(ARRAY['open', 'soft_closed', 'locked'], OLD.state::text);
  v_rank_new int := array_position(ARRAY['open', 'soft_closed', 'locked'], NEW.state::text);
  v_needed text := CASE WHEN v_rank_new > v_rank_old THEN 'close_periods' ELSE 'reopen_periods' END;
  v_actor text := coalesce(current_setting('sheshi.actor_id', true), '');
BEGIN
  IF NOT public.sheshi_actor_may(NEW.entity_id, v_needed) THEN
    RAISE EXCEPTION 'moving entity period % from % to % needs the % permission on the entity',
      OLD.id, OLD.state, NEW.state, v_needed
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'periods_move_not_permitted';
  END IF;
  IF v_actor <> '' AND NEW.changed_by_id IS DISTINCT FROM nullif(v_actor, '')::bigint THEN
    RAISE EXCEPTION 'entity period % records user % as making the move, but user % is acting',
      OLD.id, NEW.changed_by_id, v_actor
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'periods_move_not_permitted';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER periods_move_permitted BEFORE UPDATE OF state ON periods_entityperiod
  FOR EACH ROW WHEN (NEW.state IS DISTINCT FROM OLD.state)
  EXECUTE FUNCTION periods_move_permitted();
