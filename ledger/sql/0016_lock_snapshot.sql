-- 0016: the lock snapshot is taken by the database, in the statement that locks the period.
-- Before, the service computed it and inserted it with the application's role, which could
-- therefore insert a snapshot of its own (matching a changed ledger) that the check, comparing
-- against the latest one, then accepted. Now the application's role cannot write snapshots at
-- all; the only way one appears is this trigger, on the move into 'locked'.
--
-- The rows and hash are those of periods.services.trial_balance_rows / snapshot_hash (Python's
-- json.dumps with ',' and ':' separators over [code, currency, amount, functional net,
-- line_count] sorted by code and currency): account codes and currencies are ASCII (their
-- validators), so to_json() escapes them as json.dumps does. tests/periods/test_lock_race.py
-- checks both sides agree. taken_at is the clock at the snapshot (after the lock waited for
-- postings in flight), not the transaction's start.
CREATE OR REPLACE FUNCTION ledger_trial_balance_digest(p_entity_id bigint, p_period_id bigint,
  OUT rows jsonb, OUT line_count bigint, OUT sha256 text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  WITH tb AS (
    SELECT a.code, b.currency, b.amount::text AS amount,
           (b.functional_debit - b.functional_credit)::text AS net, b.line_count
      FROM public.ledger_balance b JOIN public.ledger_account a ON a.id = b.account_id
     WHERE b.entity_id = p_entity_id AND b.period_id = p_period_id
  )
  SELECT coalesce(jsonb_agg(jsonb_build_array(code, currency, amount, net, line_count) ORDER BY code, currency),
                  '[]'::jsonb),
         coalesce(sum(line_count), 0)::bigint,
         encode(sha256(convert_to('[' || coalesce(string_agg(
           '[' || to_json(code)::text || ',' || to_json(currency)::text || ',' || to_json(amount)::text || ','
               || to_json(net)::text || ',' || line_count::text || ']', ',' ORDER BY code, currency), '') || ']',
           'UTF8')), 'hex')
    FROM tb
$$;

CREATE OR REPLACE FUNCTION ledger_lock_snapshot_take() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  d record;
BEGIN
  SELECT * INTO d FROM public.ledger_trial_balance_digest(NEW.entity_id, NEW.period_id);
  INSERT INTO public.periods_periodlocksnapshot (organisation_id, entity_period_id, taken_at, taken_by_id,
                                                 trial_balance, line_count, sha256)
  VALUES (NEW.organisation_id, NEW.id, clock_timestamp(), NEW.changed_by_id, d.rows, d.line_count, d.sha256);
  RETURN NULL;
END $$;

CREATE TRIGGER ledger_lock_snapshot_take AFTER UPDATE OF state ON periods_entityperiod
  FOR EACH ROW WHEN (NEW.state = 'locked' AND OLD.state IS DISTINCT FROM 'locked')
  EXECUTE FUNCTION ledger_lock_snapshot_take();
