-- 0034: the lines guard of 0013, with one change: the entries of the written lines are looked up
-- (and held FOR SHARE) with their ids bounded by the lines' lowest and highest entry id as well, so
-- that the entry key's index reads that range; 0013's semi-join alone was planned as a hash join
-- over the whole entry table (issue 18: ~15 ms per 10,000-entry bulk batch at 20,000 entries,
-- growing with the table). Same rows held, same refusals, same pending check.
CREATE OR REPLACE FUNCTION ledger_lines_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  bad bigint;
  v_missing bigint[];
  v_account bigint;
  v_pending bigint;
  v_min bigint;
  v_max bigint;
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM 1 FROM ledger_account a WHERE a.id IN (SELECT account_id FROM new_lines) ORDER BY a.id FOR KEY SHARE;
    SELECT n.account_id INTO v_account
      FROM (SELECT DISTINCT account_id, organisation_id FROM new_lines) n
     WHERE NOT EXISTS (SELECT 1 FROM ledger_account a
                        WHERE a.id = n.account_id AND a.organisation_id = n.organisation_id)
     LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'account % does not exist in the organisation of the line', v_account
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_line_account_missing';
    END IF;

    -- FOR SHARE, not only FOR KEY SHARE: a concurrent posting (an UPDATE of the entry's status)
    -- waits until these lines are committed and then checks and counts them, and lines written
    -- after a posting committed see it posted. With FOR KEY SHARE both went through: a posted
    -- entry could gain a line its posting never saw.
    -- The entries are also bounded by the lines' lowest and highest entry id (a predicate every
    -- one of them meets): the entry key's index then reads that range, where 0013's semi-join
    -- alone was planned as a hash join over the whole entry table, a cost growing with it.
    SELECT min(entry_id), max(entry_id) INTO v_min, v_max FROM new_lines;
    WITH ids AS (SELECT DISTINCT entry_id AS id FROM new_lines),
         held AS (SELECT e.id, e.status FROM ledger_journalentry e
                   WHERE e.id BETWEEN v_min AND v_max AND e.id IN (SELECT id FROM ids) ORDER BY e.id FOR SHARE)
    SELECT min(h.id) FILTER (WHERE h.status <> 'draft'), array_agg(ids.id) FILTER (WHERE h.id IS NULL)
      INTO bad, v_missing
      FROM ids LEFT JOIN held h ON h.id = ids.id;
    IF v_missing IS NOT NULL THEN
      INSERT INTO ledger_line_entry_pending (entry_ids) VALUES (v_missing) RETURNING id INTO v_pending;
      -- Remembered for this transaction, so that the statement inserting these entries can clear
      -- the check (ledger_entry_refs_check). A savepoint rolled back reverts the setting with the row.
      PERFORM set_config('sheshi.ledger_pending_ids',
                         concat_ws(',', nullif(current_setting('sheshi.ledger_pending_ids', true), ''), v_pending),
                         true);
    END IF;
  END IF;
  IF bad IS NULL AND TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT o.entry_id INTO bad FROM old_lines o JOIN ledger_journalentry e ON e.id = o.entry_id
     WHERE e.status <> 'draft' LIMIT 1;
  END IF;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry % is not a draft: its lines cannot change', bad
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_line_entry_not_draft';
  END IF;
  RETURN NULL;
END $$;
