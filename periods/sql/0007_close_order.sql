-- 0007: an entity's locked periods are always the oldest ones (issue #15). Balance-sheet figures
-- are cumulative, so a posting into April changes the locked June trial balance if June can lock
-- while April is open. Enforced on the state column, so the close grid, the commands, the API and
-- a raw SQL session all meet it:
--   * locking needs every earlier period of the entity locked (a run of months locks oldest first,
--     in one transaction);
--   * reopening a locked period needs every later period of the entity reopened first (a run
--     reopens newest first).
-- "Earlier" is the calendar order: start date, then period number (an adjustment period 13 sits
-- after its year's December). Each check share-locks the rows it depends on, so a lock of June
-- and a reopen of April racing each other cannot both commit (one waits, or one is a deadlock
-- victim and is retried).
CREATE OR REPLACE FUNCTION periods_close_order_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_start date;
  v_number int;
  v_code text;
  bad record;
BEGIN
  SELECT p.start_date, p.number, p.code INTO v_start, v_number, v_code FROM public.periods_period p WHERE p.id = NEW.period_id;
  IF NEW.state = 'locked' THEN
    PERFORM 1 FROM public.periods_entityperiod ep JOIN public.periods_period p ON p.id = ep.period_id
     WHERE ep.entity_id = NEW.entity_id AND (p.start_date, p.number) < (v_start, v_number)
     ORDER BY p.start_date, p.number
       FOR SHARE OF ep;
    SELECT p.code, ep.state INTO bad
      FROM public.periods_entityperiod ep JOIN public.periods_period p ON p.id = ep.period_id
     WHERE ep.entity_id = NEW.entity_id AND (p.start_date, p.number) < (v_start, v_number) AND ep.state <> 'locked'
     ORDER BY p.start_date, p.number LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'period % cannot lock while the earlier period % is % for this entity: lock periods oldest first',
        v_code, bad.code, bad.state
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_lock_out_of_order';
    END IF;
  ELSIF OLD.state = 'locked' THEN
    PERFORM 1 FROM public.periods_entityperiod ep JOIN public.periods_period p ON p.id = ep.period_id
     WHERE ep.entity_id = NEW.entity_id AND (p.start_date, p.number) > (v_start, v_number)
     ORDER BY p.start_date, p.number
       FOR SHARE OF ep;
    SELECT p.code INTO bad
      FROM public.periods_entityperiod ep JOIN public.periods_period p ON p.id = ep.period_id
     WHERE ep.entity_id = NEW.entity_id AND (p.start_date, p.number) > (v_start, v_number) AND ep.state = 'locked'
     ORDER BY p.start_date DESC, p.number DESC LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'period % cannot reopen while the later period % is locked for this entity: reopen periods newest first',
        v_code, bad.code
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_reopen_out_of_order';
    END IF;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER periods_close_order_guard BEFORE UPDATE OF state ON periods_entityperiod
  FOR EACH ROW WHEN (NEW.state IS DISTINCT FROM OLD.state AND (NEW.state = 'locked' OR OLD.state = 'locked'))
  EXECUTE FUNCTION periods_close_order_guard();
