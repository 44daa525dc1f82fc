-- 0018: entries and their period, whatever their status (issue #15). Before, a draft could be
-- created, edited and approved in a locked period, and an entry dated outside its period was
-- accepted until it failed at posting with a database message.
--   * an entry's date lies inside its period, from its first save;
--   * nothing is written into a locked period: no new entry, edit, submission, approval or void
--     (posted entries are checked, and refused, by the posting rule).
-- FOR SHARE on the entity-periods written into: a concurrent lock (FOR UPDATE) waits for this
-- transaction, then finds its entries; an entry that waited for a lock sees it.
CREATE OR REPLACE FUNCTION ledger_entry_period_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  r record;
BEGIN
  PERFORM 1 FROM public.periods_entityperiod ep
   WHERE (ep.entity_id, ep.period_id) IN (SELECT entity_id, period_id FROM new_entries WHERE status <> 'posted')
   ORDER BY ep.id
     FOR SHARE OF ep;
  SELECT n.id, n.entry_date, p.code, ep.state INTO r
    FROM new_entries n
    JOIN public.periods_period p ON p.id = n.period_id
    LEFT JOIN public.periods_entityperiod ep ON ep.entity_id = n.entity_id AND ep.period_id = n.period_id
   WHERE n.status <> 'posted' AND (n.entry_date NOT BETWEEN p.start_date AND p.end_date OR ep.state = 'locked')
   ORDER BY n.id LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF r.state = 'locked' THEN
    RAISE EXCEPTION 'journal entry %: period % is locked for this entity: no entry is created or changed in it', r.id, r.code
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entry_in_locked_period';
  END IF;
  RAISE EXCEPTION 'journal entry %: its date % is outside its period %', r.id, r.entry_date, r.code
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entry_date_outside_period';
END $$;

CREATE TRIGGER ledger_entry_period_guard_insert AFTER INSERT ON ledger_journalentry
  REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_period_guard();
CREATE TRIGGER ledger_entry_period_guard_update AFTER UPDATE ON ledger_journalentry
  REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_period_guard();

-- A period locks only when every entry in it is posted or void (the services say which; this is
-- the same rule for a raw SQL session). Runs before the lock's snapshot is taken.
CREATE OR REPLACE FUNCTION ledger_lock_unposted_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_n bigint;
BEGIN
  SELECT count(*) INTO v_n FROM public.ledger_journalentry e
   WHERE e.entity_id = NEW.entity_id AND e.period_id = NEW.period_id AND e.status NOT IN ('posted', 'void');
  IF v_n > 0 THEN
    RAISE EXCEPTION 'entity period % has % unposted entries: post or void them before locking', NEW.id, v_n
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_lock_unposted_entries';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER ledger_lock_unposted_guard BEFORE UPDATE OF state ON periods_entityperiod
  FOR EACH ROW WHEN (NEW.state = 'locked' AND OLD.state IS DISTINCT FROM 'locked')
  EXECUTE FUNCTION ledger_lock_unposted_guard();
