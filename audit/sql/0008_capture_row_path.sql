-- 0008: the per-row path of audit_capture() (statements up to the summary threshold: every API
-- write) does less per row, and the canonical serialisation is inlined into audit_append():
--   * each row is converted to jsonb once (0002 converted it twice: for the row and for its id);
--   * the organisation is read from the row inline; audit_org_of() (a function call per row) is
--     called only for tables whose organisation is found through their entity;
--   * audit_canonical() and audit_content_hash() lose their SET search_path (which kept PostgreSQL
--     from inlining them: three function calls per event) and name every function they use with
--     its schema instead, so the caller's search_path cannot change what they compute.
-- The events, their canonical text and hashes are exactly those of 0002/0007.
CREATE OR REPLACE FUNCTION audit_canonical(
  p_org bigint, p_at timestamptz, p_txid bigint, p_actor_id bigint, p_actor_label text, p_request_id text,
  p_client_addr text, p_action text, p_object_type text, p_object_id text, p_changes jsonb) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT pg_catalog.jsonb_build_object(
    'v', 1, 'organisation_id', p_org, 'occurred_at_us', (extract(epoch FROM p_at) OPERATOR(pg_catalog.*) 1000000)::bigint,
    'txid', p_txid, 'actor_id', p_actor_id, 'actor_label', p_actor_label, 'request_id', p_request_id,
    'client_addr', p_client_addr, 'action', p_action, 'object_type', p_object_type, 'object_id', p_object_id,
    'changes', p_changes)::text
$$;

CREATE OR REPLACE FUNCTION audit_content_hash(
  p_org bigint, p_at timestamptz, p_txid bigint, p_actor_id bigint, p_actor_label text, p_request_id text,
  p_client_addr text, p_action text, p_object_type text, p_object_id text, p_changes jsonb) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(public.audit_canonical(p_org, p_at, p_txid, p_actor_id, p_actor_label, p_request_id,
    p_client_addr, p_action, p_object_type, p_object_id, p_changes), 'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION audit_capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET TimeZone = 'UTC'
  SET work_mem = '64MB' AS $$
DECLARE
  v_type text := TG_ARGV[0];
  v_threshold bigint := TG_ARGV[1]::bigint;
  v_pk text := TG_ARGV[2];
  v_orgcol text := TG_ARGV[3];
  v_via text := coalesce(TG_ARGV[4], '');
  v_n bigint;
  v_org bigint[];
  v_action text[];
  v_oid text[];
  v_changes jsonb[];
  v_orgx text;
  v_key text;
  v_tbl text;
  v_rec record;
  v_ch jsonb;
  v_ranges jsonb;
  v_before jsonb;
  v_total bigint;
BEGIN
  -- Count only up to the threshold: a bulk statement's rows are not scanned just to be counted.
  IF TG_OP = 'INSERT' THEN
    SELECT count(*) INTO v_n FROM (SELECT 1 FROM new_rows LIMIT v_threshold + 1) s;
  ELSE
    SELECT count(*) INTO v_n FROM (SELECT 1 FROM old_rows LIMIT v_threshold + 1) s;
  END IF;
  IF v_n = 0 THEN
    RETURN NULL;
  END IF;

  IF v_n > v_threshold THEN
    v_orgx := CASE v_via
      WHEN 'entity' THEN format('coalesce((SELECT e.organisation_id FROM tenancy_entity e WHERE e.id = r.%I), 0)', v_orgcol)
      ELSE format('coalesce(r.%I, 0)', v_orgcol) END;
    v_key := format('(r.%I)::bigint', v_pk);
    v_tbl := CASE WHEN TG_OP = 'DELETE' THEN 'old_rows' ELSE 'new_rows' END;
    IF TG_OP = 'UPDATE' THEN
      EXECUTE format('SELECT jsonb_object_agg(org, digest) FROM (SELECT org, '
                     'encode(sha256(string_agg(h, ''''::bytea ORDER BY k)), ''hex'') AS digest '
                     'FROM (SELECT %1$s AS org, %2$s AS k, sha256(record_send(r)) AS h FROM old_rows r OFFSET 0) d '
                     'GROUP BY 1) s', v_orgx, v_key) INTO v_before;
    END IF;
    v_org := '{}'; v_action := '{}'; v_oid := '{}'; v_changes := '{}';
    FOR v_rec IN EXECUTE format(
        'SELECT org, count(*) AS n, min(k) AS lo, max(k) AS hi, '
        'encode(sha256(string_agg(h, ''''::bytea ORDER BY k)), ''hex'') AS digest '
        'FROM (SELECT %1$s AS org, %2$s AS k, sha256(record_send(r)) AS h FROM %3$I r OFFSET 0) d '
        'GROUP BY 1 ORDER BY 1', v_orgx, v_key, v_tbl) LOOP
      v_ch := jsonb_build_object('count', v_rec.n, 'min_id', v_rec.lo, 'max_id', v_rec.hi, 'digest', v_rec.digest,
                                 'digest_algorithm', 'sha256(sha256(record_send(row)) || ... in id order)');
      -- The organisation and id range identify the statement's rows unless rows of other
      -- statements sit inside that range; only then are the exact id ranges listed.
      IF v_rec.hi - v_rec.lo + 1 <> v_rec.n AND TG_OP <> 'DELETE' THEN
        EXECUTE format('SELECT count(*) FROM %I.%I r WHERE %s = $1 AND %s BETWEEN $2 AND $3',
                       TG_TABLE_SCHEMA, TG_TABLE_NAME, v_orgx, v_key)
          INTO v_total USING v_rec.org, v_rec.lo, v_rec.hi;
      END IF;
      IF v_total IS DISTINCT FROM v_rec.n AND v_total IS NOT NULL THEN
        EXECUTE format(
          'SELECT jsonb_agg(jsonb_build_array(lo, hi) ORDER BY lo) FROM ('
          '  SELECT min(k) AS lo, max(k) AS hi FROM ('
          '    SELECT k, k - row_number() OVER (ORDER BY k) AS grp FROM ('
          '      SELECT %1$s AS k FROM %2$I r WHERE %3$s = $1) a) b GROUP BY grp) c', v_key, v_tbl, v_orgx)
          INTO v_ranges USING v_rec.org;
        v_ch := v_ch || jsonb_build_object('ranges', v_ranges);
      END IF;
      v_total := NULL;
      IF TG_OP = 'UPDATE' THEN
        v_ch := v_ch || jsonb_build_object('before_digest', v_before -> v_rec.org::text);
      END IF;
      v_org := v_org || v_rec.org;
      v_action := v_action || ('bulk_' || lower(TG_OP));
      v_oid := v_oid || NULL::text;
      v_changes := v_changes || v_ch;
    END LOOP;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT array_agg(CASE WHEN v_via = '' THEN coalesce((j ->> v_orgcol)::bigint, 0) ELSE audit_org_of(j, v_orgcol, v_via) END ORDER BY k), array_agg('insert'::text ORDER BY k),
           array_agg(k::text ORDER BY k), array_agg(jsonb_build_object('after', j) ORDER BY k)
      INTO v_org, v_action, v_oid, v_changes
      FROM (SELECT j, (j ->> v_pk)::bigint AS k FROM (SELECT to_jsonb(r) AS j FROM new_rows r) r0) s;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(CASE WHEN v_via = '' THEN coalesce((j ->> v_orgcol)::bigint, 0) ELSE audit_org_of(j, v_orgcol, v_via) END ORDER BY k), array_agg('delete'::text ORDER BY k),
           array_agg(k::text ORDER BY k), array_agg(jsonb_build_object('before', j) ORDER BY k)
      INTO v_org, v_action, v_oid, v_changes
      FROM (SELECT j, (j ->> v_pk)::bigint AS k FROM (SELECT to_jsonb(r) AS j FROM old_rows r) r0) s;
  ELSE
    SELECT array_agg(s.org ORDER BY s.k), array_agg('update'::text ORDER BY s.k), array_agg(s.k::text ORDER BY s.k),
           array_agg(s.ch ORDER BY s.k)
      INTO v_org, v_action, v_oid, v_changes
      FROM (
        SELECT CASE WHEN v_via = '' THEN coalesce((coalesce(n.j, o.j) ->> v_orgcol)::bigint, 0)
                    ELSE audit_org_of(coalesce(n.j, o.j), v_orgcol, v_via) END AS org, coalesce(n.k, o.k) AS k,
               jsonb_build_object('before', coalesce(d.b, '{}'::jsonb), 'after', coalesce(d.a, '{}'::jsonb)) AS ch
          FROM (SELECT j, (j ->> v_pk)::bigint AS k FROM (SELECT to_jsonb(r) AS j FROM new_rows r) r0) n
          FULL JOIN (SELECT j, (j ->> v_pk)::bigint AS k FROM (SELECT to_jsonb(r) AS j FROM old_rows r) r0) o ON o.k = n.k
          CROSS JOIN LATERAL (
            SELECT jsonb_object_agg(kv.key, kv.ov) FILTER (WHERE kv.ov IS NOT NULL) AS b,
                   jsonb_object_agg(kv.key, kv.nv) FILTER (WHERE kv.nv IS NOT NULL) AS a
              FROM (SELECT key, ov.value AS ov, nv.value AS nv
                      FROM jsonb_each(coalesce(o.j, '{}'::jsonb)) ov
                      FULL JOIN jsonb_each(coalesce(n.j, '{}'::jsonb)) nv USING (key)) kv
             WHERE kv.ov IS DISTINCT FROM kv.nv
          ) d
         WHERE d.a IS NOT NULL OR d.b IS NOT NULL
      ) s;
  END IF;

  PERFORM audit_append(v_org, v_action, v_type, v_oid, v_changes);
  RETURN NULL;
END $$;
