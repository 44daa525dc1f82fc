-- 0009: the two entry points every single API posting calls, with plans PostgreSQL keeps for the
-- session (issue #18 item 4). Same results, same refusals.
--
-- A LANGUAGE sql function that cannot be inlined (SECURITY DEFINER, SET search_path) is parsed and
-- planned again at every call; PL/pgSQL keeps the plans of its static statements for the session,
-- and an EXECUTE of dynamic SQL is planned at every call.

-- 0006's function, in PL/pgSQL: one statement, its plan kept (was ~0.3 ms of planning per request).
CREATE OR REPLACE FUNCTION sheshi_user_scope_org_ids(p_user_id bigint) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  RETURN (
    SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '')
    FROM (
      SELECT o.id FROM tenancy_organisation o
       WHERE EXISTS (SELECT 1 FROM auth_user u WHERE u.id = p_user_id AND u.is_superuser AND u.is_active)
      UNION
      SELECT m.organisation_id FROM tenancy_membership m WHERE m.user_id = p_user_id AND m.is_active
    ) orgs);
END $$;

-- 0007's function, whole, with a static path for the journal entry's history (every posting writes
-- one row there): the scope check and the INSERT are static statements, so no catalogue look-up and
-- no planning per call. `INSERT ... SELECT *` from the table's own row type follows the table's
-- columns as they are (a changed table invalidates the kept plan; it is re-analysed, * included),
-- and OVERRIDING USER VALUE leaves the identity column to its sequence, as the generic path does by
-- leaving it out. Every other history table takes the generic path unchanged.
CREATE OR REPLACE FUNCTION sheshi_history_append(p_table text, p_rows jsonb) RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  t record;
  v_cols text;
  v_outside boolean;
BEGIN
  IF p_table = 'ledger_historicaljournalentry' THEN
    IF jsonb_typeof(p_rows) <> 'array' THEN
      RAISE EXCEPTION 'history rows come as a jsonb array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_populate_recordset(NULL::public.ledger_historicaljournalentry, p_rows) r
                WHERE NOT ((SELECT public.sheshi_scope_all())
                           OR r.organisation_id = ANY ((SELECT public.sheshi_scope_orgs())::bigint[]))) THEN
      RAISE EXCEPTION 'history row for % outside this session''s organisations', p_table
        USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'sheshi_history_row_forged';
    END IF;
    RETURN QUERY INSERT INTO public.ledger_historicaljournalentry OVERRIDING USER VALUE
                 SELECT * FROM jsonb_populate_recordset(NULL::public.ledger_historicaljournalentry, p_rows)
                 RETURNING history_id::bigint;
    RETURN;
  END IF;
  SELECT * INTO t FROM public.sheshi_history_table(p_table);
  IF jsonb_typeof(p_rows) <> 'array' THEN
    RAISE EXCEPTION 'history rows come as a jsonb array' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM jsonb_populate_recordset(NULL::public.%I, $1) r '
                 'WHERE NOT ((SELECT public.sheshi_scope_all()) OR r.%I = ANY ((SELECT public.sheshi_scope_orgs())::bigint[])))',
                 p_table, t.tenant_column)
    INTO v_outside USING p_rows;
  IF v_outside THEN
    RAISE EXCEPTION 'history row for % outside this session''s organisations', p_table
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'sheshi_history_row_forged';
  END IF;
  SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_cols
    FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = format('public.%I', p_table)::regclass AND a.attnum > 0 AND NOT a.attisdropped
     AND a.attidentity = '' AND a.attgenerated = '';
  RETURN QUERY EXECUTE format('INSERT INTO public.%I (%s) SELECT %s FROM jsonb_populate_recordset(NULL::public.%I, $1) '
                              'RETURNING %I::bigint', p_table, v_cols, v_cols, p_table, t.id_column) USING p_rows;
END $$;
