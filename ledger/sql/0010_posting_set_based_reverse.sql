-- Reverse of 0010: ledger_entries_posted() as in 0007 (without its work_mem).
CREATE OR REPLACE FUNCTION ledger_entries_posted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  r record;
  n_posted bigint;
BEGIN
  -- new_entries is this statement's transition table: the planner knows its size, so one
  -- entry from the API and half a million from an import both get a fitting plan.
  SELECT count(*) INTO n_posted FROM new_entries WHERE status = 'posted';
  IF n_posted = 0 THEN
    RETURN NULL;
  END IF;

  -- Period state. FOR SHARE: postings run side by side, while a lock (FOR UPDATE on the same
  -- row) waits for them to commit, and a posting that waits for a lock sees the locked state.
  FOR r IN
    SELECT ep.id, ep.state, p.code
      FROM periods_entityperiod ep
      JOIN periods_period p ON p.id = ep.period_id
     WHERE (ep.entity_id, ep.period_id) IN (
            SELECT DISTINCT je.entity_id, je.period_id
              FROM ledger_journalentry je JOIN (SELECT id FROM new_entries WHERE status = 'posted') i ON i.id = je.id)
     ORDER BY ep.id
       FOR SHARE OF ep
  LOOP
    IF r.state = 'locked' THEN
      RAISE EXCEPTION 'period % is locked for this entity: nothing can be posted into it', r.code
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_period_locked';
    ELSIF r.state = 'soft_closed' AND coalesce(current_setting('sheshi.close_privilege', true), '') <> 'on' THEN
      RAISE EXCEPTION 'period % is soft-closed: only users with the close permission can post adjustments', r.code
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_period_soft_closed';
    END IF;
  END LOOP;

  SELECT je.id, p.code AS period_code, je.entry_date INTO r
    FROM ledger_journalentry je
    JOIN (SELECT id FROM new_entries WHERE status = 'posted') i ON i.id = je.id
    JOIN periods_period p ON p.id = je.period_id
    JOIN tenancy_entity ent ON ent.id = je.entity_id
    LEFT JOIN periods_entityperiod ep ON ep.entity_id = je.entity_id AND ep.period_id = je.period_id
   WHERE ep.id IS NULL OR p.organisation_id <> je.organisation_id OR ent.organisation_id <> je.organisation_id
      OR je.entry_date < p.start_date OR je.entry_date > p.end_date
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry %: date % is outside period %, or the period is not open for its entity',
      r.id, r.entry_date, r.period_code
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_period_not_open';
  END IF;

  SELECT je.id, je.source INTO r
    FROM ledger_journalentry je
    JOIN (SELECT id FROM new_entries WHERE status = 'posted') i ON i.id = je.id
    JOIN tenancy_entity ent ON ent.id = je.entity_id
   WHERE ent.approval_required_sources ? je.source
     AND (je.approved_by_id IS NULL OR je.approved_by_id = je.created_by_id)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % (source %) needs approval by someone other than its preparer', r.id, r.source
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entry_needs_approval';
  END IF;

  SELECT i.id, coalesce(sum(l.functional_amount), 0) AS total, count(l.id) AS n INTO r
    FROM (SELECT id FROM new_entries WHERE status = 'posted') i
    LEFT JOIN ledger_journalline l ON l.entry_id = i.id
   GROUP BY i.id
  HAVING coalesce(sum(l.functional_amount), 0) <> 0 OR count(l.id) < 2
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % does not balance: functional amounts sum to % over % lines (needs 0 over at least 2)',
      r.id, r.total, r.n
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entry_unbalanced';
  END IF;

  SELECT l.entry_id, l.line_no, a.code INTO r
    FROM ledger_journalline l
    JOIN (SELECT id FROM new_entries WHERE status = 'posted') i ON i.id = l.entry_id
    JOIN ledger_journalentry je ON je.id = l.entry_id
    JOIN ledger_account a ON a.id = l.account_id
    JOIN tenancy_entity ent ON ent.id = je.entity_id
    LEFT JOIN tenancy_entity cp ON cp.id = l.counterparty_id
   WHERE l.organisation_id <> je.organisation_id OR l.entity_id <> je.entity_id OR l.period_id <> je.period_id
      OR a.organisation_id <> je.organisation_id OR a.kind <> 'posting' OR NOT a.is_active
      OR (l.currency = ent.functional_currency AND (l.amount <> l.functional_amount OR l.rate <> 1))
      OR (l.counterparty_id IS NOT NULL AND (cp.id IS NULL OR cp.organisation_id <> je.organisation_id
                                             OR cp.id = je.entity_id))
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % line %: account % is not an active posting account of the organisation, or the line disagrees with its entry (entity, period, currency, counterparty)',
      r.entry_id, r.line_no, r.code
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_line_invalid';
  END IF;

  -- Balances: one upsert, keys in a fixed order so concurrent postings lock rows in the same order.
  INSERT INTO ledger_balance AS b (organisation_id, entity_id, account_id, period_id, currency, amount,
                                   functional_debit, functional_credit, line_count)
  SELECT l.organisation_id, l.entity_id, l.account_id, l.period_id, l.currency, sum(l.amount),
         sum(greatest(l.functional_amount, 0)), sum(greatest(-l.functional_amount, 0)), count(*)
    FROM ledger_journalline l JOIN (SELECT id FROM new_entries WHERE status = 'posted') i ON i.id = l.entry_id
   GROUP BY l.organisation_id, l.entity_id, l.account_id, l.period_id, l.currency
   ORDER BY l.entity_id, l.account_id, l.period_id, l.currency
  ON CONFLICT (entity_id, account_id, period_id, currency) DO UPDATE
     SET amount = b.amount + EXCLUDED.amount,
         functional_debit = b.functional_debit + EXCLUDED.functional_debit,
         functional_credit = b.functional_credit + EXCLUDED.functional_credit,
         line_count = b.line_count + EXCLUDED.line_count;
  RETURN NULL;
END $$;
ALTER FUNCTION ledger_entries_posted() RESET work_mem;
