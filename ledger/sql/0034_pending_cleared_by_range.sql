-- 0034: the reference check of 0011, with one change: the pending line check of a bulk batch
-- (lines written before their entries) is cleared by a range test when the inserted entries'
-- ids are consecutive, instead of a hashed EXCEPT of the pending ids and the inserted ones
-- (issue 18: ~7 ms of a 10,000-entry batch). Same checks cleared, same refusals.
CREATE OR REPLACE FUNCTION ledger_entry_refs_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_orgs bigint[];
  v_entities bigint[];
  v_periods bigint[];
  v_users bigint[];
  v_entries bigint[];
  v_n bigint;
  v_what text;
  v_id bigint;
  v_pending bigint[];
  v_count bigint;
  v_lo bigint;
  v_hi bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    WITH k AS (SELECT DISTINCT organisation_id AS org, entity_id AS ent, period_id AS per, created_by_id AS u1,
                      submitted_by_id AS u2, approved_by_id AS u3, posted_by_id AS u4, reverses_id AS rev
                 FROM new_entries)
    SELECT array_agg(DISTINCT org) FILTER (WHERE org IS NOT NULL),
           array_agg(DISTINCT ent) FILTER (WHERE ent IS NOT NULL),
           array_agg(DISTINCT per) FILTER (WHERE per IS NOT NULL),
           (SELECT array_agg(DISTINCT u) FROM k k2, unnest(ARRAY[k2.u1, k2.u2, k2.u3, k2.u4]) u WHERE u IS NOT NULL),
           array_agg(DISTINCT rev) FILTER (WHERE rev IS NOT NULL)
      INTO v_orgs, v_entities, v_periods, v_users, v_entries FROM k;
  ELSE
    WITH k AS (SELECT DISTINCT
                 nullif(n.organisation_id, o.organisation_id) AS org, nullif(n.entity_id, o.entity_id) AS ent,
                 nullif(n.period_id, o.period_id) AS per,
                 CASE WHEN n.created_by_id IS DISTINCT FROM o.created_by_id THEN n.created_by_id END AS u1,
                 CASE WHEN n.submitted_by_id IS DISTINCT FROM o.submitted_by_id THEN n.submitted_by_id END AS u2,
                 CASE WHEN n.approved_by_id IS DISTINCT FROM o.approved_by_id THEN n.approved_by_id END AS u3,
                 CASE WHEN n.posted_by_id IS DISTINCT FROM o.posted_by_id THEN n.posted_by_id END AS u4,
                 CASE WHEN n.reverses_id IS DISTINCT FROM o.reverses_id THEN n.reverses_id END AS rev
                 FROM new_entries n JOIN old_entries o ON o.id = n.id)
    SELECT array_agg(DISTINCT org) FILTER (WHERE org IS NOT NULL),
           array_agg(DISTINCT ent) FILTER (WHERE ent IS NOT NULL),
           array_agg(DISTINCT per) FILTER (WHERE per IS NOT NULL),
           (SELECT array_agg(DISTINCT u) FROM k k2, unnest(ARRAY[k2.u1, k2.u2, k2.u3, k2.u4]) u WHERE u IS NOT NULL),
           array_agg(DISTINCT rev) FILTER (WHERE rev IS NOT NULL)
      INTO v_orgs, v_entities, v_periods, v_users, v_entries FROM k;
  END IF;

  IF v_orgs IS NOT NULL THEN
    PERFORM 1 FROM tenancy_organisation t WHERE t.id = ANY (v_orgs) ORDER BY t.id FOR KEY SHARE;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n < cardinality(v_orgs) THEN
      v_what := 'organisation';
      SELECT x INTO v_id FROM unnest(v_orgs) x WHERE NOT EXISTS (SELECT 1 FROM tenancy_organisation t WHERE t.id = x);
    END IF;
  END IF;
  IF v_what IS NULL AND v_entities IS NOT NULL THEN
    PERFORM 1 FROM tenancy_entity t WHERE t.id = ANY (v_entities) ORDER BY t.id FOR KEY SHARE;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n < cardinality(v_entities) THEN
      v_what := 'entity';
      SELECT x INTO v_id FROM unnest(v_entities) x WHERE NOT EXISTS (SELECT 1 FROM tenancy_entity t WHERE t.id = x);
    END IF;
  END IF;
  IF v_what IS NULL AND v_periods IS NOT NULL THEN
    PERFORM 1 FROM periods_period t WHERE t.id = ANY (v_periods) ORDER BY t.id FOR KEY SHARE;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n < cardinality(v_periods) THEN
      v_what := 'period';
      SELECT x INTO v_id FROM unnest(v_periods) x WHERE NOT EXISTS (SELECT 1 FROM periods_period t WHERE t.id = x);
    END IF;
  END IF;
  IF v_what IS NULL AND v_users IS NOT NULL THEN
    PERFORM 1 FROM auth_user t WHERE t.id = ANY (v_users) ORDER BY t.id FOR KEY SHARE;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n < cardinality(v_users) THEN
      v_what := 'user';
      SELECT x INTO v_id FROM unnest(v_users) x WHERE NOT EXISTS (SELECT 1 FROM auth_user t WHERE t.id = x);
    END IF;
  END IF;
  IF v_what IS NULL AND v_entries IS NOT NULL THEN
    PERFORM 1 FROM ledger_journalentry t WHERE t.id = ANY (v_entries) ORDER BY t.id FOR KEY SHARE;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n < cardinality(v_entries) THEN
      v_what := 'reversed journal entry';
      SELECT x INTO v_id FROM unnest(v_entries) x WHERE NOT EXISTS (SELECT 1 FROM ledger_journalentry t WHERE t.id = x);
    END IF;
  END IF;
  IF v_what IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry references % %, which does not exist', v_what, v_id
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_entry_reference_missing';
  END IF;

  -- Lines written earlier in this transaction for entries this statement inserts (the bulk path,
  -- the API's posting) need no check at commit: these entries exist, and being this transaction's
  -- own uncommitted rows, nobody else can delete them. A pending check all of whose ids are among
  -- them is removed (EXCEPT: linear in both sizes whatever plan is cached for this trigger).
  IF TG_OP = 'INSERT' THEN
    v_pending := string_to_array(nullif(current_setting('sheshi.ledger_pending_ids', true), ''), ',')::bigint[];
    IF v_pending IS NOT NULL THEN
      -- When these entries' ids are consecutive (a bulk batch's), an id is among them iff it lies
      -- in their range: one pass over the pending ids instead of a hashed EXCEPT of both sets.
      SELECT count(*), min(id), max(id) INTO v_count, v_lo, v_hi FROM new_entries;
      IF v_hi - v_lo + 1 = v_count THEN
        DELETE FROM ledger_line_entry_pending p
         WHERE p.id = ANY (v_pending)
           AND NOT EXISTS (SELECT 1 FROM unnest(p.entry_ids) x WHERE x IS NULL OR x NOT BETWEEN v_lo AND v_hi);
      ELSE
        DELETE FROM ledger_line_entry_pending p
         WHERE p.id = ANY (v_pending)
           AND NOT EXISTS (SELECT x FROM unnest(p.entry_ids) x EXCEPT SELECT id FROM new_entries);
      END IF;
      PERFORM set_config('sheshi.ledger_pending_ids',
                         coalesce((SELECT string_agg(p.id::text, ',') FROM ledger_line_entry_pending p
                                    WHERE p.id = ANY (v_pending)), ''), true);
    END IF;
  END IF;
  RETURN NULL;
END $$;
