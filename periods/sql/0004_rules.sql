-- Close rules enforced by PostgreSQL (see periods/migrations/0004). All checking functions are
-- SECURITY DEFINER so row-level security cannot hide from them the rows they must see.

-- "Is this entity locked on this date?" — for other apps' triggers (FX rates, ownership).
-- VOLATILE because it takes FOR SHARE on the entity-period rows it reads: a caller's change
-- and a concurrent lock of the same period then serialise (the lock takes FOR UPDATE), so a
-- change cannot slip in while the period is being locked.
CREATE OR REPLACE FUNCTION periods_locked_during(p_entity_id bigint, p_during daterange) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  r record;
  locked boolean := false;
BEGIN
  FOR r IN SELECT ep.state FROM periods_entityperiod ep JOIN periods_period p ON p.id = ep.period_id
            WHERE ep.entity_id = p_entity_id AND daterange(p.start_date, p.end_date, '[]') && p_during
            ORDER BY ep.id FOR SHARE OF ep LOOP
    locked := locked OR r.state = 'locked';
  END LOOP;
  RETURN locked;
END $$;

CREATE OR REPLACE FUNCTION periods_is_locked(entity_id bigint, on_date date) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT periods_locked_during($1, daterange($2, $2, '[]'))
$$;

-- Any entity of the organisation locked during the range / on the date (group-wide reference data).
CREATE OR REPLACE FUNCTION periods_any_entity_locked_during(p_organisation_id bigint, p_during daterange) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  r record;
  locked boolean := false;
BEGIN
  FOR r IN SELECT ep.state FROM periods_entityperiod ep JOIN periods_period p ON p.id = ep.period_id
            WHERE ep.organisation_id = p_organisation_id AND daterange(p.start_date, p.end_date, '[]') && p_during
            ORDER BY ep.id FOR SHARE OF ep LOOP
    locked := locked OR r.state = 'locked';
  END LOOP;
  RETURN locked;
END $$;

CREATE OR REPLACE FUNCTION periods_any_entity_locked(organisation_id bigint, on_date date) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT periods_any_entity_locked_during($1, daterange($2, $2, '[]'))
$$;

-- Local account mappings: what a mapping says inside a locked period of its entity is frozen.
-- An UPDATE may still change the row as long as its effect inside every locked period is the
-- same (typically: end an open-ended mapping at the start of an open period, then insert the
-- new one from there); the local name is a label and may change.
CREATE OR REPLACE FUNCTION periods_mapping_freeze() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  o_entity bigint;
  o_valid daterange;
  n_entity bigint;
  n_valid daterange;
  same_key boolean := false;
  bad record;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    o_entity := OLD.entity_id; o_valid := OLD.valid;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    n_entity := NEW.entity_id; n_valid := NEW.valid;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    same_key := NEW.entity_id = OLD.entity_id AND NEW.organisation_id = OLD.organisation_id
                AND NEW.local_code = OLD.local_code AND NEW.account_id = OLD.account_id;
  END IF;
  -- FOR SHARE on every entity-period either range touches, in id order: a concurrent lock waits
  -- for this change to commit, or this change waits for the lock and then sees it.
  PERFORM 1 FROM periods_entityperiod ep JOIN periods_period p ON p.id = ep.period_id
   WHERE (ep.entity_id = o_entity AND daterange(p.start_date, p.end_date, '[]') && o_valid)
      OR (ep.entity_id = n_entity AND daterange(p.start_date, p.end_date, '[]') && n_valid)
   ORDER BY ep.id FOR SHARE OF ep;
  SELECT p.code, ep.entity_id INTO bad
    FROM periods_entityperiod ep JOIN periods_period p ON p.id = ep.period_id
   WHERE ep.state = 'locked'
     AND ((ep.entity_id = o_entity AND daterange(p.start_date, p.end_date, '[]') && o_valid)
       OR (ep.entity_id = n_entity AND daterange(p.start_date, p.end_date, '[]') && n_valid))
     AND NOT (same_key AND (o_valid * daterange(p.start_date, p.end_date, '[]'))
                         = (n_valid * daterange(p.start_date, p.end_date, '[]')))
   ORDER BY p.start_date
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'local account mapping % of entity % is effective in locked period %: date the change into an open period',
      coalesce(NEW.local_code, OLD.local_code), bad.entity_id, bad.code
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_mapping_frozen';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER periods_mapping_freeze BEFORE INSERT OR UPDATE OR DELETE ON ledger_localaccountmapping
  FOR EACH ROW EXECUTE FUNCTION periods_mapping_freeze();

-- A group lock needs every member's entity-period locked, in the group's organisation.
CREATE OR REPLACE FUNCTION periods_group_lock_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  bad bigint;
BEGIN
  PERFORM 1 FROM periods_entityperiod ep
   WHERE ep.entity_id = ANY(NEW.entity_ids) AND ep.period_id = NEW.period_id
   ORDER BY ep.id FOR SHARE OF ep;
  SELECT m.entity_id INTO bad
    FROM unnest(NEW.entity_ids) AS m(entity_id)
    LEFT JOIN tenancy_entity e ON e.id = m.entity_id
    LEFT JOIN periods_entityperiod ep ON ep.entity_id = m.entity_id AND ep.period_id = NEW.period_id
   WHERE e.id IS NULL OR e.organisation_id <> NEW.organisation_id OR ep.id IS NULL OR ep.state <> 'locked'
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'entity % is not locked for period %: a group locks only after all its members',
      bad, NEW.period_id
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_group_members_not_locked';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER periods_group_lock_guard BEFORE INSERT OR UPDATE ON periods_groupperiodlock
  FOR EACH ROW EXECUTE FUNCTION periods_group_lock_guard();

-- While a group has the period locked, none of its members' periods can be reopened.
CREATE OR REPLACE FUNCTION periods_group_member_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  g text;
BEGIN
  SELECT group_key INTO g FROM periods_groupperiodlock
   WHERE period_id = NEW.period_id AND NEW.entity_id = ANY(entity_ids) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'consolidation group % has locked this period: unlock the group before reopening entity %',
      g, NEW.entity_id
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_group_locked';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER periods_group_member_guard BEFORE UPDATE OF state ON periods_entityperiod
  FOR EACH ROW WHEN (OLD.state = 'locked' AND NEW.state <> 'locked')
  EXECUTE FUNCTION periods_group_member_guard();

-- Lock overrides are evidence: append-only.
CREATE OR REPLACE FUNCTION periods_override_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'lock overrides are append-only'
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'periods_override_append_only';
END $$;
CREATE TRIGGER periods_override_append_only BEFORE UPDATE OR DELETE ON periods_lockoverride
  FOR EACH ROW EXECUTE FUNCTION periods_override_append_only();
CREATE TRIGGER periods_override_no_truncate BEFORE TRUNCATE ON periods_lockoverride
  FOR EACH STATEMENT EXECUTE FUNCTION periods_override_append_only();
