-- 0034: the posting rule of 0031, with the batch's lines read cheaper. Same rule, same refusals,
-- same balances (issue 18: the bulk path posts 10,000 entries per statement).
--   * The posted entries' lines are read by index range, one range per run of consecutive entry
--     ids (a bulk batch's ids are one run), instead of one index probe per entry.
--   * The lines check first counts, in one hashed pass, the entries that pass it (balanced, at
--     least two lines, every line valid). Only when that count falls short of the posted entries
--     does the exact query of 0031 run, to name the first entry at fault as before. That pass
--     joins accounts, entities and counterparties by hash, where 0031's per-entry plan probed an
--     index per line, and sorted 20,000 wide rows to group them.
--   * The balances are summed from the same ranges.
-- Measured at 10,000 two-line entries per statement: see CHANGELOG (issue 18).
CREATE OR REPLACE FUNCTION ledger_entries_posted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp SET work_mem = '64MB' AS $$
DECLARE
  r record;
  n_posted bigint;
  n_passed bigint;
  v_min bigint;
  v_max bigint;
  v_lo bigint[];
  v_hi bigint[];
BEGIN
  SELECT count(*), min(id), max(id) INTO n_posted, v_min, v_max FROM new_entries WHERE status = 'posted';
  IF n_posted = 0 THEN
    RETURN NULL;
  END IF;
  -- The posted entries as runs of consecutive ids: [v_lo[i], v_hi[i]] holds posted entries of this
  -- statement only, so the lines with an entry id in a run are exactly the lines of these entries.
  IF v_max - v_min + 1 = n_posted THEN
    v_lo := ARRAY[v_min];
    v_hi := ARRAY[v_max];
  ELSE
    SELECT array_agg(lo ORDER BY lo), array_agg(hi ORDER BY lo) INTO v_lo, v_hi
      FROM (SELECT min(id) AS lo, max(id) AS hi
              FROM (SELECT id, id - row_number() OVER (ORDER BY id) AS g FROM new_entries WHERE status = 'posted') s
             GROUP BY g) runs;
  END IF;

  -- Period state. FOR SHARE: postings run side by side, while a lock (FOR UPDATE on the same
  -- row) waits for them to commit, and a posting that waits for a lock sees the locked state.
  FOR r IN
    SELECT ep.id, ep.entity_id, ep.state, p.code
      FROM periods_entityperiod ep
      JOIN periods_period p ON p.id = ep.period_id
     WHERE (ep.entity_id, ep.period_id) IN (SELECT entity_id, period_id FROM new_entries WHERE status = 'posted')
     ORDER BY ep.id
       FOR SHARE OF ep
  LOOP
    IF r.state = 'locked' THEN
      RAISE EXCEPTION 'period % is locked for this entity: nothing can be posted into it', r.code
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_period_locked';
    ELSIF r.state = 'soft_closed' AND (coalesce(current_setting('sheshi.close_privilege', true), '') <> 'on'
                                       OR NOT sheshi_actor_may(r.entity_id, 'close_periods')) THEN
      RAISE EXCEPTION 'period % is soft-closed: only users with the close permission can post adjustments', r.code
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_period_soft_closed';
    END IF;
  END LOOP;

  -- A later period of the entity locked: its cumulative (balance-sheet) figures would move. With
  -- periods locking oldest first (periods/sql/0007) this cannot happen to an open period; checked
  -- here too so that the posting rule states the whole rule.
  SELECT p.code AS period_code, lp.code AS locked_code INTO r
    FROM (SELECT DISTINCT entity_id, period_id FROM new_entries WHERE status = 'posted') k
    JOIN periods_period p ON p.id = k.period_id
    JOIN periods_entityperiod lep ON lep.entity_id = k.entity_id AND lep.state = 'locked'
    JOIN periods_period lp ON lp.id = lep.period_id AND (lp.start_date, lp.number) > (p.start_date, p.number)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'period % is before the locked period % of this entity: posting into it would change locked figures',
      r.period_code, r.locked_code
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_later_period_locked';
  END IF;

  -- A closed fiscal year (a posted closing entry that no posted entry reverses) takes nothing but
  -- its closing entries and their reversal (the year-end reopen): anything else would leave income
  -- and expense behind after they were moved into retained earnings.
  -- The closed (entity, fiscal year) pairs of the batch's entities are found once per batch: asked
  -- per entry, every entry re-read all posted entries of its entity (0.5 million rows for a
  -- 715-entry consolidation batch). A closing entry is never one of the entries checked (their
  -- source is not 'closing'), so no entry is its own closing entry.
  SELECT n.id, fy.code INTO r
    FROM new_entries n
    JOIN periods_period p ON p.id = n.period_id
    JOIN periods_fiscalyear fy ON fy.id = p.fiscal_year_id
    JOIN (SELECT DISTINCT c.entity_id, cp.fiscal_year_id
            FROM ledger_journalentry c JOIN periods_period cp ON cp.id = c.period_id
           WHERE c.entity_id IN (SELECT entity_id FROM new_entries WHERE status = 'posted')
             AND c.source = 'closing' AND c.status = 'posted'
             AND NOT EXISTS (SELECT 1 FROM ledger_journalentry x
                              WHERE x.reverses_id = c.id AND x.status = 'posted')) closed
      ON closed.entity_id = n.entity_id AND closed.fiscal_year_id = p.fiscal_year_id
   WHERE n.status = 'posted' AND n.source <> 'closing'
     AND NOT EXISTS (SELECT 1 FROM ledger_journalentry rc WHERE rc.id = n.reverses_id AND rc.source = 'closing')
   ORDER BY n.id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry %: fiscal year % is closed for this entity: reopen the year to post into it',
      r.id, r.code
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_fiscal_year_closed';
  END IF;

  -- Dates inside the period, period and entity of the entry's organisation, entity-period present:
  -- per (organisation, entity, period) with the batch's earliest and latest date.
  PERFORM 1
    FROM (SELECT organisation_id, entity_id, period_id, min(entry_date) AS lo, max(entry_date) AS hi
            FROM new_entries WHERE status = 'posted' GROUP BY 1, 2, 3) g
    LEFT JOIN periods_period p ON p.id = g.period_id
    LEFT JOIN tenancy_entity ent ON ent.id = g.entity_id
    LEFT JOIN periods_entityperiod ep ON ep.entity_id = g.entity_id AND ep.period_id = g.period_id
   WHERE ep.id IS NULL OR p.id IS NULL OR ent.id IS NULL OR p.organisation_id <> g.organisation_id
      OR ent.organisation_id <> g.organisation_id OR g.lo < p.start_date OR g.hi > p.end_date
   LIMIT 1;
  IF FOUND THEN  -- name the first entry at fault
    SELECT n.id, p.code AS period_code, n.entry_date INTO r
      FROM new_entries n
      LEFT JOIN periods_period p ON p.id = n.period_id
      LEFT JOIN tenancy_entity ent ON ent.id = n.entity_id
      LEFT JOIN periods_entityperiod ep ON ep.entity_id = n.entity_id AND ep.period_id = n.period_id
     WHERE n.status = 'posted'
       AND (ep.id IS NULL OR p.id IS NULL OR ent.id IS NULL OR p.organisation_id <> n.organisation_id
            OR ent.organisation_id <> n.organisation_id OR n.entry_date < p.start_date OR n.entry_date > p.end_date)
     ORDER BY n.id LIMIT 1;
    RAISE EXCEPTION 'journal entry %: date % is outside period %, or the period is not open for its entity',
      r.id, r.entry_date, r.period_code
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_period_not_open';
  END IF;

  -- Approval, only looked at per entry when an entity of the batch requires it for a source used.
  IF EXISTS (SELECT 1 FROM (SELECT DISTINCT entity_id, source FROM new_entries WHERE status = 'posted') k
               JOIN tenancy_entity ent ON ent.id = k.entity_id
              WHERE ent.approval_required_sources ? k.source
                 OR (k.source = 'recurring' AND ent.approval_required_sources ? 'manual')) THEN
    SELECT n.id, n.source INTO r
      FROM new_entries n JOIN tenancy_entity ent ON ent.id = n.entity_id
     WHERE n.status = 'posted'
       AND (ent.approval_required_sources ? n.source
            OR (n.source = 'recurring' AND ent.approval_required_sources ? 'manual'))
       AND (n.approved_by_id IS NULL OR n.approved_by_id = n.created_by_id)
     ORDER BY n.id LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'journal entry % (source %) needs approval by someone other than its preparer', r.id, r.source
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entry_needs_approval';
    END IF;
  END IF;

  -- Lines: each entry balances over at least two lines, and each line is on an active posting
  -- account of the organisation and agrees with its entry. First the entries that pass are
  -- counted (lines by range, everything joined by hash); only if some do not is the exact query
  -- run, which names the first entry at fault: an unbalanced entry before an invalid line, as in 0007.
  SELECT count(*) INTO n_passed
    FROM (SELECT entry_id
            FROM (SELECT l.entry_id, l.functional_amount,
                         l.organisation_id <> n.organisation_id OR l.entity_id <> n.entity_id
                         OR l.period_id <> n.period_id
                         OR a.id IS NULL OR a.organisation_id <> n.organisation_id OR a.kind <> 'posting' OR NOT a.is_active
                         OR (l.currency = ent.functional_currency AND (l.amount <> l.functional_amount OR l.rate <> 1))
                         OR (l.counterparty_id IS NOT NULL AND (cp.id IS NULL OR cp.organisation_id <> n.organisation_id
                                                                OR cp.id = n.entity_id)) AS bad
                    FROM unnest(v_lo, v_hi) AS run(lo, hi)
                    JOIN ledger_journalline l ON l.entry_id BETWEEN run.lo AND run.hi
                    JOIN new_entries n ON n.id = l.entry_id
                    JOIN tenancy_entity ent ON ent.id = n.entity_id
                    LEFT JOIN ledger_account a ON a.id = l.account_id
                    LEFT JOIN tenancy_entity cp ON cp.id = l.counterparty_id
                  OFFSET 0) line  -- each line's verdict first: the aggregate then holds three narrow columns
           GROUP BY entry_id
          HAVING sum(functional_amount) = 0 AND count(*) >= 2 AND count(*) FILTER (WHERE bad) = 0) passed;
  IF n_passed < n_posted THEN
    SELECT n.id, coalesce(sum(l.functional_amount), 0) AS total, count(l.id) AS n_lines,
           min(l.line_no) FILTER (WHERE
             l.organisation_id <> n.organisation_id OR l.entity_id <> n.entity_id OR l.period_id <> n.period_id
             OR a.id IS NULL OR a.organisation_id <> n.organisation_id OR a.kind <> 'posting' OR NOT a.is_active
             OR (l.currency = ent.functional_currency AND (l.amount <> l.functional_amount OR l.rate <> 1))
             OR (l.counterparty_id IS NOT NULL AND (cp.id IS NULL OR cp.organisation_id <> n.organisation_id
                                                    OR cp.id = n.entity_id))) AS bad_line
      INTO r
      FROM new_entries n
      JOIN tenancy_entity ent ON ent.id = n.entity_id
      LEFT JOIN ledger_journalline l ON l.entry_id = n.id
      LEFT JOIN ledger_account a ON a.id = l.account_id
      LEFT JOIN tenancy_entity cp ON cp.id = l.counterparty_id
     WHERE n.status = 'posted'
     GROUP BY n.id
    HAVING coalesce(sum(l.functional_amount), 0) <> 0 OR count(l.id) < 2
        OR count(*) FILTER (WHERE
             l.organisation_id <> n.organisation_id OR l.entity_id <> n.entity_id OR l.period_id <> n.period_id
             OR a.id IS NULL OR a.organisation_id <> n.organisation_id OR a.kind <> 'posting' OR NOT a.is_active
             OR (l.currency = ent.functional_currency AND (l.amount <> l.functional_amount OR l.rate <> 1))
             OR (l.counterparty_id IS NOT NULL AND (cp.id IS NULL OR cp.organisation_id <> n.organisation_id
                                                    OR cp.id = n.entity_id))) > 0
     ORDER BY (coalesce(sum(l.functional_amount), 0) <> 0 OR count(l.id) < 2) DESC, n.id
     LIMIT 1;
    IF FOUND THEN
      IF r.total <> 0 OR r.n_lines < 2 THEN
        RAISE EXCEPTION 'journal entry % does not balance: functional amounts sum to % over % lines (needs 0 over at least 2)',
          r.id, r.total, r.n_lines
          USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entry_unbalanced';
      END IF;
      SELECT r.id AS entry_id, r.bad_line AS line_no, a.code INTO r
        FROM ledger_journalline l LEFT JOIN ledger_account a ON a.id = l.account_id
       WHERE l.entry_id = r.id AND l.line_no = r.bad_line LIMIT 1;
      RAISE EXCEPTION 'journal entry % line %: account % is not an active posting account of the organisation, or the line disagrees with its entry (entity, period, currency, counterparty)',
        r.entry_id, r.line_no, r.code
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_line_invalid';
    END IF;
  END IF;

  -- Balances: one upsert, keys in a fixed order so concurrent postings lock rows in the same order.
  INSERT INTO ledger_balance AS b (organisation_id, entity_id, account_id, period_id, currency, amount,
                                   functional_debit, functional_credit, line_count)
  SELECT l.organisation_id, l.entity_id, l.account_id, l.period_id, l.currency, sum(l.amount),
         sum(greatest(l.functional_amount, 0)), sum(greatest(-l.functional_amount, 0)), count(*)
    FROM unnest(v_lo, v_hi) AS run(lo, hi) JOIN ledger_journalline l ON l.entry_id BETWEEN run.lo AND run.hi
   GROUP BY l.organisation_id, l.entity_id, l.account_id, l.period_id, l.currency
   ORDER BY l.entity_id, l.account_id, l.period_id, l.currency
  ON CONFLICT (entity_id, account_id, period_id, currency) DO UPDATE
     SET amount = b.amount + EXCLUDED.amount,
         functional_debit = b.functional_debit + EXCLUDED.functional_debit,
         functional_credit = b.functional_credit + EXCLUDED.functional_credit,
         line_count = b.line_count + EXCLUDED.line_count;
  RETURN NULL;
END $$;
