-- 0005: a locked period's consolidation inputs are frozen by the entity locks, in the database.
-- A group lock needs every member locked first (periods_group_lock_guard), so freezing by the
-- members' entity locks covers group locks too. Each check goes through
-- periods_locked_during(), which share-locks the entity-periods it reads: a change and a
-- concurrent lock of the same period serialise.

-- Holdings are not effective-dated: a holding applies from its acquisition on, so it is frozen
-- once its entity has a locked period ending on or after the acquisition (a new holding dated
-- after the locked months is the way to record a change of ownership later).
CREATE OR REPLACE FUNCTION consolidation_holding_freeze() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES (CASE WHEN TG_OP <> 'INSERT' THEN OLD.entity_id END,
                                  CASE WHEN TG_OP <> 'INSERT' THEN OLD.acquired_on END),
                                 (CASE WHEN TG_OP <> 'DELETE' THEN NEW.entity_id END,
                                  CASE WHEN TG_OP <> 'DELETE' THEN NEW.acquired_on END)) v(entity_id, acquired_on)
            WHERE v.entity_id IS NOT NULL LOOP
    IF public.periods_locked_during(r.entity_id, daterange(r.acquired_on, NULL, '[)')) THEN
      RAISE EXCEPTION 'the holding of entity % applies to a locked period: reopen it, or record the change as a new holding dated after the locked months',
        r.entity_id
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'consolidation_input_frozen';
    END IF;
  END LOOP;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER consolidation_holding_freeze BEFORE INSERT OR DELETE OR UPDATE ON consolidation_groupmember
  FOR EACH ROW EXECUTE FUNCTION consolidation_holding_freeze();

-- Acquisition facts and unrealised-profit adjustments belong to an entity and (for the latter) a
-- period; net assets at acquisition (no period) apply from the acquisition on.
CREATE OR REPLACE FUNCTION consolidation_adjustment_locked(p_adjustment_id bigint) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT coalesce((SELECT public.periods_locked_during(a.entity_id,
                            CASE WHEN p.id IS NULL THEN daterange(NULL, NULL)
                                 ELSE daterange(p.start_date, p.end_date, '[]') END)
                     FROM public.consolidation_acquisitionadjustment a
                     LEFT JOIN public.periods_period p ON p.id = a.period_id
                    WHERE a.id = p_adjustment_id), false)
$$;

CREATE OR REPLACE FUNCTION consolidation_adjustment_freeze() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_id bigint;
  v_locked boolean := false;
BEGIN
  IF TG_TABLE_NAME = 'consolidation_adjustmentline' THEN
    IF TG_OP <> 'INSERT' THEN v_locked := public.consolidation_adjustment_locked(OLD.adjustment_id); END IF;
    IF NOT v_locked AND TG_OP <> 'DELETE' THEN v_locked := public.consolidation_adjustment_locked(NEW.adjustment_id); END IF;
    v_id := coalesce(CASE WHEN TG_OP <> 'DELETE' THEN NEW.adjustment_id END, OLD.adjustment_id);
  ELSE
    IF TG_OP <> 'INSERT' THEN v_locked := public.consolidation_adjustment_locked(OLD.id); END IF;
    IF NOT v_locked AND TG_OP <> 'DELETE' THEN
      v_locked := public.periods_locked_during(NEW.entity_id,
        coalesce((SELECT daterange(p.start_date, p.end_date, '[]') FROM public.periods_period p WHERE p.id = NEW.period_id),
                 daterange(NULL, NULL)));
    END IF;
    v_id := coalesce(CASE WHEN TG_OP <> 'DELETE' THEN NEW.id END, OLD.id);
  END IF;
  IF v_locked THEN
    RAISE EXCEPTION 'acquisition adjustment % applies to a locked period of its entity and cannot change', v_id
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'consolidation_input_frozen';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER consolidation_adjustment_freeze BEFORE INSERT OR DELETE OR UPDATE ON consolidation_acquisitionadjustment
  FOR EACH ROW EXECUTE FUNCTION consolidation_adjustment_freeze();
CREATE TRIGGER consolidation_adjustment_freeze BEFORE INSERT OR DELETE OR UPDATE ON consolidation_adjustmentline
  FOR EACH ROW EXECUTE FUNCTION consolidation_adjustment_freeze();

-- A rate translates the figures of the entities whose functional currency it converts from: it
-- is frozen on a date inside a locked period of any such entity of the organisation (the
-- group-lock rule of 0002 stays as it was).
CREATE OR REPLACE FUNCTION consolidation_fx_rate_entity_locked(p_org bigint, p_currency text, p_date date) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT coalesce(bool_or(public.periods_locked_during(e.id, daterange(p_date, p_date, '[]'))), false)
    FROM public.tenancy_entity e
   WHERE e.organisation_id = p_org AND e.functional_currency = p_currency
$$;

CREATE OR REPLACE FUNCTION consolidation_fx_rate_freeze() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF (TG_OP <> 'INSERT' AND public.consolidation_fx_rate_entity_locked(OLD.organisation_id, OLD.from_currency, OLD.rate_date))
     OR (TG_OP <> 'DELETE' AND public.consolidation_fx_rate_entity_locked(NEW.organisation_id, NEW.from_currency, NEW.rate_date)) THEN
    RAISE EXCEPTION 'the % rate %->% dated % translates a locked period of an entity and cannot change',
      coalesce(NEW.rate_type, OLD.rate_type), coalesce(NEW.from_currency, OLD.from_currency),
      coalesce(NEW.to_currency, OLD.to_currency), coalesce(NEW.rate_date, OLD.rate_date)
      USING ERRCODE = 'check_violation', CONSTRAINT = 'consolidation_fx_rate_frozen';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER consolidation_fx_rate_freeze BEFORE INSERT OR DELETE OR UPDATE ON consolidation_fxrate
  FOR EACH ROW EXECUTE FUNCTION consolidation_fx_rate_freeze();
