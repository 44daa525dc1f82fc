-- A rate dated inside a period that a consolidation group has locked is frozen: no insert, update
-- or delete, so a locked period's runs stay reproducible. SECURITY DEFINER so row-level security
-- on the lock table cannot hide a lock from the check.
CREATE OR REPLACE FUNCTION consolidation_fx_rate_locked(org bigint, d date) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT EXISTS (SELECT 1 FROM periods_groupperiodlock g JOIN periods_period p ON p.id = g.period_id
                  WHERE g.organisation_id = org AND p.start_date <= d AND p.end_date >= d)
$$;

CREATE OR REPLACE FUNCTION consolidation_fx_rate_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND consolidation_fx_rate_locked(OLD.organisation_id, OLD.rate_date) THEN
    RAISE EXCEPTION 'The % % rate %->% dated % belongs to a locked period and cannot change.',
      lower(TG_OP), OLD.rate_type, OLD.from_currency, OLD.to_currency, OLD.rate_date
      USING ERRCODE = 'check_violation', CONSTRAINT = 'consolidation_fx_rate_frozen';
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND consolidation_fx_rate_locked(NEW.organisation_id, NEW.rate_date) THEN
    RAISE EXCEPTION 'A % rate %->% dated % falls in a locked period and cannot be added.',
      NEW.rate_type, NEW.from_currency, NEW.to_currency, NEW.rate_date
      USING ERRCODE = 'check_violation', CONSTRAINT = 'consolidation_fx_rate_frozen';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER consolidation_fx_rate_guard
  BEFORE INSERT OR UPDATE OR DELETE ON consolidation_fxrate
  FOR EACH ROW EXECUTE FUNCTION consolidation_fx_rate_guard();
