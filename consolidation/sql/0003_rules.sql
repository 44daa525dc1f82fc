-- A group's elimination ledger is never consolidated as a member: it cannot be a member or a
-- parent in any group, it belongs to the group's organisation, and a member cannot become an
-- elimination ledger. SECURITY DEFINER so row-level security cannot hide a conflicting row.
CREATE OR REPLACE FUNCTION consolidation_is_elimination_ledger(ent bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT EXISTS (SELECT 1 FROM consolidation_consolidationgroup WHERE elimination_entity_id = ent)
$$;

CREATE OR REPLACE FUNCTION consolidation_is_group_member(ent bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT EXISTS (SELECT 1 FROM consolidation_groupmember WHERE entity_id = ent OR parent_id = ent)
$$;

CREATE OR REPLACE FUNCTION consolidation_member_not_elimination_ledger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF consolidation_is_elimination_ledger(NEW.entity_id)
     OR (NEW.parent_id IS NOT NULL AND consolidation_is_elimination_ledger(NEW.parent_id)) THEN
    RAISE EXCEPTION 'An elimination ledger cannot be a member or parent in a consolidation group.'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'consolidation_elimination_ledger_not_member';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER consolidation_member_not_elimination_ledger
  BEFORE INSERT OR UPDATE OF entity_id, parent_id ON consolidation_groupmember
  FOR EACH ROW EXECUTE FUNCTION consolidation_member_not_elimination_ledger();

CREATE OR REPLACE FUNCTION consolidation_group_elimination_ledger_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.elimination_entity_id IS NULL THEN
    RETURN NEW;
  END IF;
  IF consolidation_is_group_member(NEW.elimination_entity_id) THEN
    RAISE EXCEPTION 'Entity % is a group member and cannot be an elimination ledger.', NEW.elimination_entity_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'consolidation_elimination_ledger_not_member';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM tenancy_entity e
                  WHERE e.id = NEW.elimination_entity_id AND e.organisation_id = NEW.organisation_id) THEN
    RAISE EXCEPTION 'The elimination ledger must be an entity of the group''s organisation.'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'consolidation_elimination_ledger_not_member';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER consolidation_group_elimination_ledger_guard
  BEFORE INSERT OR UPDATE OF elimination_entity_id ON consolidation_consolidationgroup
  FOR EACH ROW EXECUTE FUNCTION consolidation_group_elimination_ledger_guard();
