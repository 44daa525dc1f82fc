-- An Idempotency-Key is its user's across every create endpoint (sheshi/api/idempotency.py): the
-- API looks up a key's first use before a create, but two requests racing with one key to two
-- endpoints both passed that look-up, and both created. Each keyed insert now takes a
-- transaction lock on (user, key), then looks in the other places keys are kept: the shared
-- records (sheshi_api_idempotencyrecord: every create but these two), journal entries and
-- integration batches. The lock is held to commit, so the second of two racing requests waits
-- for the first, then sees its row (READ COMMITTED: each statement here takes a new snapshot)
-- and is refused (idempotency_key_reused, 409). A key kept by the same endpoint in the same
-- organisation is left to that table's unique index (the replay path). Reads run as the
-- caller, under its tenant scope, as the API's own look-up does.

-- Where p_user first used p_key outside p_scope ('records', 'entries', 'batches'), or in p_scope
-- for another organisation than p_org; NULL if nowhere. Takes the (user, key) lock first.
CREATE OR REPLACE FUNCTION ledger_idempotency_key_used_elsewhere(p_user bigint, p_key text, p_scope text,
                                                                  p_org bigint) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_first text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('sheshi.idempotency-key:' || p_user || ':' || p_key, 0));
  SELECT what || ' at ' || to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
    INTO v_first FROM (
      SELECT r.method || ' ' || r.path AS what, r.created_at FROM sheshi_api_idempotencyrecord r
       WHERE p_scope <> 'records' AND r.user_id = p_user AND r.key = p_key
      UNION ALL
      SELECT 'POST /api/v1/journal-entries/ (entry ' || e.id || ')', e.created_at FROM ledger_journalentry e
       WHERE (p_scope <> 'entries' OR e.organisation_id <> p_org)
         AND e.organisation_id IN (SELECT m.organisation_id FROM tenancy_membership m WHERE m.user_id = p_user)
         AND e.created_by_id = p_user AND e.idempotency_key = p_key
      UNION ALL
      SELECT 'POST /api/v1/journal-entries/batch/ (batch ' || b.id || ')', b.created_at FROM ledger_journalentrybatch b
       WHERE (p_scope <> 'batches' OR b.organisation_id <> p_org)
         AND b.organisation_id IN (SELECT m.organisation_id FROM tenancy_membership m WHERE m.user_id = p_user)
         AND b.created_by_id = p_user AND b.idempotency_key = p_key
  ) uses ORDER BY created_at LIMIT 1;
  RETURN v_first;
END $$;

CREATE OR REPLACE FUNCTION ledger_idempotency_key_one_use() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_key text;
  v_first text;
BEGIN
  IF TG_ARGV[0] = 'records' THEN
    v_key := NEW.key;
    v_first := ledger_idempotency_key_used_elsewhere(NEW.user_id, v_key, 'records', NULL);
  ELSIF NEW.created_by_id IS NULL THEN
    RETURN NEW;  -- a system row keeps no client's key
  ELSE
    v_key := NEW.idempotency_key;
    v_first := ledger_idempotency_key_used_elsewhere(NEW.created_by_id, v_key, TG_ARGV[0], NEW.organisation_id);
  END IF;
  IF v_first IS NOT NULL THEN
    RAISE EXCEPTION 'Idempotency-Key % was first used for %, another endpoint; use a new key for a new request.',
      quote_literal(v_key), v_first
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'idempotency_key_used_elsewhere';
  END IF;
  RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS idempotency_key_one_use ON sheshi_api_idempotencyrecord;
CREATE TRIGGER idempotency_key_one_use BEFORE INSERT ON sheshi_api_idempotencyrecord
  FOR EACH ROW EXECUTE FUNCTION ledger_idempotency_key_one_use('records');
DROP TRIGGER IF EXISTS idempotency_key_one_use ON ledger_journalentry;
CREATE TRIGGER idempotency_key_one_use BEFORE INSERT ON ledger_journalentry
  FOR EACH ROW WHEN (NEW.idempotency_key IS NOT NULL) EXECUTE FUNCTION ledger_idempotency_key_one_use('entries');
DROP TRIGGER IF EXISTS idempotency_key_one_use ON ledger_journalentrybatch;
CREATE TRIGGER idempotency_key_one_use BEFORE INSERT ON ledger_journalentrybatch
  FOR EACH ROW WHEN (NEW.idempotency_key IS NOT NULL) EXECUTE FUNCTION ledger_idempotency_key_one_use('batches');
