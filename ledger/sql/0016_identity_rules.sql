-- 0016: who approved is who acted; what the books were kept in does not change under them.

-- The approver recorded on an entry is the acting user, and holds approve_entries on the entity:
-- a session that writes approved_by_id itself cannot name someone else as approver (before, any
-- id could be written, and the posting rule only compared it with the preparer).
CREATE OR REPLACE FUNCTION ledger_entry_approver_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_actor text := coalesce(current_setting('sheshi.actor_id', true), '');
BEGIN
  IF NEW.approved_by_id IS NULL THEN
    RETURN NEW;
  END IF;
  IF (v_actor <> '' AND NEW.approved_by_id <> nullif(v_actor, '')::bigint)
     OR NOT public.sheshi_actor_may(NEW.entity_id, 'approve_entries') THEN
    RAISE EXCEPTION 'journal entry % names user % as approver, but the acting user (%) is not that user or may not approve in this entity',
      NEW.id, NEW.approved_by_id, coalesce(nullif(v_actor, ''), current_setting('sheshi.actor_label', true))
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'ledger_approver_not_actor';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER ledger_entry_approver_guard BEFORE INSERT ON ledger_journalentry
  FOR EACH ROW WHEN (NEW.approved_by_id IS NOT NULL) EXECUTE FUNCTION ledger_entry_approver_guard();
CREATE TRIGGER ledger_entry_approver_guard_update BEFORE UPDATE OF approved_by_id ON ledger_journalentry
  FOR EACH ROW WHEN (NEW.approved_by_id IS DISTINCT FROM OLD.approved_by_id)
  EXECUTE FUNCTION ledger_entry_approver_guard();

-- An account used in a locked period keeps its code, type, normal balance and kind: the locked
-- figures were reported under them (a new account and a mapping change is the way).
CREATE OR REPLACE FUNCTION ledger_account_identity_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_period text;
BEGIN
  SELECT p.code INTO v_period
    FROM public.ledger_balance b
    JOIN public.periods_entityperiod ep ON ep.entity_id = b.entity_id AND ep.period_id = b.period_id
    JOIN public.periods_period p ON p.id = b.period_id
   WHERE b.account_id = OLD.id AND ep.state = 'locked'
   ORDER BY p.start_date LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'account % has figures in locked period %: its code, type, normal balance and kind are fixed',
      OLD.code, v_period
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_account_identity_fixed';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER ledger_account_identity_guard BEFORE UPDATE OF code, type, normal_balance, kind ON ledger_account
  FOR EACH ROW WHEN ((NEW.code, NEW.type, NEW.normal_balance, NEW.kind)
                     IS DISTINCT FROM (OLD.code, OLD.type, OLD.normal_balance, OLD.kind))
  EXECUTE FUNCTION ledger_account_identity_guard();

-- An entity's functional currency is fixed once it has journal entries: every functional amount
-- and balance of the entity is in that currency.
CREATE OR REPLACE FUNCTION ledger_entity_currency_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM public.ledger_journalentry e WHERE e.entity_id = OLD.id) THEN
    RAISE EXCEPTION 'entity % has journal entries in %: its functional currency is fixed', OLD.code,
      OLD.functional_currency
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entity_currency_fixed';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER ledger_entity_currency_guard BEFORE UPDATE OF functional_currency ON tenancy_entity
  FOR EACH ROW WHEN (NEW.functional_currency IS DISTINCT FROM OLD.functional_currency)
  EXECUTE FUNCTION ledger_entity_currency_guard();
