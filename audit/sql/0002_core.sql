-- The audit trail's database side (see audit/models.py for the tables, audit/canonical.py for the
-- Python twin of the serialisation). Every function that writes the log is owned by the schema
-- owner: the application's role may only read audit tables, so an event can come from nowhere
-- else than these functions.

-- Canonical serialisation of an event: jsonb text output (keys sorted by length then bytes,
-- ", " and ": " separators), the time as integer microseconds since the epoch so that neither
-- the session time zone nor DateStyle can change it. The event id is not part of it: the chain
-- (audit_chain) fixes each event's place, so a swapped pair of events shows as reordered.
CREATE OR REPLACE FUNCTION audit_canonical(
  p_org bigint, p_at timestamptz, p_txid bigint, p_actor_id bigint, p_actor_label text, p_request_id text,
  p_client_addr text, p_action text, p_object_type text, p_object_id text, p_changes jsonb) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
  SELECT jsonb_build_object(
    'v', 1, 'organisation_id', p_org, 'occurred_at_us', (extract(epoch FROM p_at) * 1000000)::bigint,
    'txid', p_txid, 'actor_id', p_actor_id, 'actor_label', p_actor_label, 'request_id', p_request_id,
    'client_addr', p_client_addr, 'action', p_action, 'object_type', p_object_type, 'object_id', p_object_id,
    'changes', p_changes)::text
$$;

CREATE OR REPLACE FUNCTION audit_content_hash(
  p_org bigint, p_at timestamptz, p_txid bigint, p_actor_id bigint, p_actor_label text, p_request_id text,
  p_client_addr text, p_action text, p_object_type text, p_object_id text, p_changes jsonb) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, public AS $$
  SELECT encode(sha256(convert_to(audit_canonical(p_org, p_at, p_txid, p_actor_id, p_actor_label, p_request_id,
    p_client_addr, p_action, p_object_type, p_object_id, p_changes), 'UTF8')), 'hex')
$$;

-- Who is acting. A write to an audited table, or an application event, with neither an actor id
-- nor an actor label is refused: no change can be anonymous, whatever the code path.
CREATE OR REPLACE FUNCTION audit_actor_check(p_what text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF coalesce(current_setting('sheshi.actor_id', true), '') = ''
     AND coalesce(current_setting('sheshi.actor_label', true), '') = '' THEN
    RAISE EXCEPTION 'no actor is set: % is refused (set sheshi.actor_id or sheshi.actor_label)', p_what
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'audit_actor_required';
  END IF;
END $$;

CREATE OR REPLACE FUNCTION audit_require_actor() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM audit_actor_check(lower(TG_OP) || ' on ' || TG_TABLE_NAME);
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audit_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is audited: delete rows instead of truncating, so each deletion is recorded', TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'audit_truncate_refused';
END $$;

-- audit_event and audit_chain never change once written, not even for the owner while this
-- trigger is enabled (the app role has no UPDATE/DELETE/TRUNCATE right on them at all).
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = TG_ARGV[0];
END $$;

-- Register this transaction for sealing: one marker row per transaction, inserted the first time
-- the transaction writes an event. The transaction-local setting remembers that it is done (a
-- rolled-back savepoint reverts the setting together with the marker and the events).
CREATE OR REPLACE FUNCTION audit_tx_mark() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_tx bigint := txid_current();
BEGIN
  IF coalesce(current_setting('sheshi.audit_tx', true), '') <> v_tx::text THEN
    INSERT INTO audit_pending (txid) VALUES (v_tx) ON CONFLICT DO NOTHING;
    PERFORM set_config('sheshi.audit_tx', v_tx::text, true);
  END IF;
END $$;

-- Append events (set-based): the context (time, transaction, actor, request, client) is read once;
-- the content hash is computed in the same statement. SECURITY INVOKER on purpose: called by the
-- owner's functions below; the application's role calling it directly has no INSERT right.
CREATE OR REPLACE FUNCTION audit_append(p_org bigint[], p_action text[], p_object_type text, p_object_id text[],
                                        p_changes jsonb[]) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
  v_last bigint;
BEGIN
  IF coalesce(array_length(p_org, 1), 0) = 0 THEN
    RETURN NULL;
  END IF;
  WITH ctx AS (
    SELECT now() AS at, txid_current() AS txid,
           nullif(current_setting('sheshi.actor_id', true), '')::bigint AS actor_id,
           nullif(current_setting('sheshi.actor_label', true), '') AS actor_label,
           nullif(current_setting('sheshi.request_id', true), '') AS request_id,
           nullif(current_setting('sheshi.client_addr', true), '') AS client_addr
  ), ins AS (
    INSERT INTO audit_event (organisation_id, occurred_at, txid, actor_id, actor_label, request_id, client_addr,
                             action, object_type, object_id, changes, content_hash)
    SELECT u.org, c.at, c.txid, c.actor_id, c.actor_label, c.request_id, c.client_addr,
           u.action, p_object_type, u.oid, u.ch,
           audit_content_hash(u.org, c.at, c.txid, c.actor_id, c.actor_label, c.request_id, c.client_addr,
                              u.action, p_object_type, u.oid, u.ch)
      FROM unnest(p_org, p_action, p_object_id, p_changes) WITH ORDINALITY AS u(org, action, oid, ch, ord)
      CROSS JOIN ctx c
     ORDER BY u.ord
    RETURNING id
  )
  SELECT max(id) INTO v_last FROM ins;
  PERFORM audit_tx_mark();
  RETURN v_last;
END $$;

-- The organisation a captured row belongs to: its own column, or through its entity (guardian's
-- per-entity permission rows carry no organisation). 0 when it cannot be found (platform chain).
CREATE OR REPLACE FUNCTION audit_org_of(p_row jsonb, p_col text, p_via text) RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $$
  SELECT coalesce(CASE p_via
    WHEN 'entity' THEN (SELECT e.organisation_id FROM tenancy_entity e WHERE e.id = (p_row ->> p_col)::bigint)
    ELSE (p_row ->> p_col)::bigint END, 0)
$$;


-- The audit trigger every audited table gets (audit.operations.attach_audit), statement-level with
-- transition tables so bulk statements stay set-based. Arguments: object type, summary threshold,
-- primary key column (integer), organisation column, organisation lookup ('' or 'entity').
--   ≤ threshold rows: one event per row — insert: {"after": row}; update: {"before": {changed},
--     "after": {changed}} (rows with nothing changed are skipped); delete: {"before": row}.
--   > threshold rows: one 'bulk_<op>' event per organisation — {count, min_id, max_id, digest}
--     (and 'ranges' when other rows of that organisation sit between min_id and max_id, so the
--     organisation and the id range alone would not identify the statement's rows). digest = sha256 over the concatenated
--     sha256 of each row's PostgreSQL binary form (record_send) in id order, which no session
--     setting can change; an update records the old rows' digest as 'before_digest'.
-- PL/pgSQL compiles a trigger function once per trigger, so the static per-row SQL is planned per
-- table and cached for the session. The summary path is dynamic SQL (it reads columns by name
-- without converting each row to jsonb; its planning cost is nothing next to the rows). Transition
-- tables are visible only in the trigger function's own queries, hence everything is inline here.
CREATE OR REPLACE FUNCTION audit_capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET TimeZone = 'UTC' AS $$
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
      EXECUTE format('SELECT jsonb_object_agg(org, digest) FROM (SELECT %1$s AS org, '
                     'encode(sha256(string_agg(sha256(record_send(r)), ''''::bytea ORDER BY %2$s)), ''hex'') AS digest '
                     'FROM old_rows r GROUP BY 1) s', v_orgx, v_key) INTO v_before;
    END IF;
    v_org := '{}'; v_action := '{}'; v_oid := '{}'; v_changes := '{}';
    FOR v_rec IN EXECUTE format(
        'SELECT %1$s AS org, count(*) AS n, min(%2$s) AS lo, max(%2$s) AS hi, '
        'encode(sha256(string_agg(sha256(record_send(r)), ''''::bytea ORDER BY %2$s)), ''hex'') AS digest '
        'FROM %3$I r GROUP BY 1 ORDER BY 1', v_orgx, v_key, v_tbl) LOOP
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
    SELECT array_agg(audit_org_of(j, v_orgcol, v_via) ORDER BY k), array_agg('insert'::text ORDER BY k),
           array_agg(k::text ORDER BY k), array_agg(jsonb_build_object('after', j) ORDER BY k)
      INTO v_org, v_action, v_oid, v_changes
      FROM (SELECT to_jsonb(r) AS j, (to_jsonb(r) ->> v_pk)::bigint AS k FROM new_rows r) s;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(audit_org_of(j, v_orgcol, v_via) ORDER BY k), array_agg('delete'::text ORDER BY k),
           array_agg(k::text ORDER BY k), array_agg(jsonb_build_object('before', j) ORDER BY k)
      INTO v_org, v_action, v_oid, v_changes
      FROM (SELECT to_jsonb(r) AS j, (to_jsonb(r) ->> v_pk)::bigint AS k FROM old_rows r) s;
  ELSE
    SELECT array_agg(s.org ORDER BY s.k), array_agg('update'::text ORDER BY s.k), array_agg(s.k::text ORDER BY s.k),
           array_agg(s.ch ORDER BY s.k)
      INTO v_org, v_action, v_oid, v_changes
      FROM (
        SELECT audit_org_of(coalesce(n.j, o.j), v_orgcol, v_via) AS org, coalesce(n.k, o.k) AS k,
               jsonb_build_object('before', coalesce(d.b, '{}'::jsonb), 'after', coalesce(d.a, '{}'::jsonb)) AS ch
          FROM (SELECT to_jsonb(r) AS j, (to_jsonb(r) ->> v_pk)::bigint AS k FROM new_rows r) n
          FULL JOIN (SELECT to_jsonb(r) AS j, (to_jsonb(r) ->> v_pk)::bigint AS k FROM old_rows r) o ON o.k = n.k
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

-- An application-level event (role grants, logins, exports, report reads): the same log, the
-- same actor rule, and only for an organisation in the session's scope (0: platform events).
CREATE OR REPLACE FUNCTION audit_record(p_org bigint, p_action text, p_object_type text, p_object_id text,
                                        p_changes jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET TimeZone = 'UTC' AS $$
BEGIN
  PERFORM audit_actor_check('recording ' || coalesce(p_action, 'an event'));
  IF p_org IS NULL OR (p_org <> 0 AND NOT (sheshi_scope_all() OR p_org = ANY (sheshi_scope_orgs()))) THEN
    RAISE EXCEPTION 'organisation % is not in this session''s scope', p_org
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'audit_event_out_of_scope';
  END IF;
  IF coalesce(p_action, '') = '' OR coalesce(p_object_type, '') = '' THEN
    RAISE EXCEPTION 'an audit event needs an action and an object type'
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'audit_event_incomplete';
  END IF;
  RETURN audit_append(ARRAY[p_org], ARRAY[p_action], p_object_type, ARRAY[p_object_id], ARRAY[p_changes]);
END $$;

-- Sealing, once per transaction at commit (deferred constraint trigger on the marker row): lock
-- the chain heads of the organisations this transaction wrote to, in organisation order (two
-- sealing transactions can never wait on each other in a cycle), then chain this transaction's
-- events in id order: seq = head.seq + n, hash = sha256(content_hash || prev_hash). Writers only
-- wait on each other for this short step at commit, never for their whole transaction.
CREATE OR REPLACE FUNCTION audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  v_orgs bigint[];
  v_org bigint;
  v_seq bigint;
  v_hash text;
  v_ids bigint[];
  v_ch text[];
  v_prev text[];
  v_hashes text[];
  i int;
BEGIN
  SELECT array_agg(DISTINCT e.organisation_id ORDER BY e.organisation_id) INTO v_orgs
    FROM audit_event e
   WHERE e.txid = NEW.txid AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_id = e.id);
  IF v_orgs IS NOT NULL THEN
    FOREACH v_org IN ARRAY v_orgs LOOP
      SELECT h.seq, h.hash INTO v_seq, v_hash FROM audit_chain_head h WHERE h.organisation_id = v_org FOR UPDATE;
      IF NOT FOUND THEN  -- the organisation's first event: create its head (a concurrent creator wins, we wait)
        INSERT INTO audit_chain_head (organisation_id, seq, hash, event_id, sealed_at)
        VALUES (v_org, 0, repeat('0', 64), NULL, now()) ON CONFLICT (organisation_id) DO NOTHING;
        SELECT h.seq, h.hash INTO v_seq, v_hash FROM audit_chain_head h WHERE h.organisation_id = v_org FOR UPDATE;
      END IF;
      SELECT array_agg(e.id ORDER BY e.id), array_agg(e.content_hash ORDER BY e.id) INTO v_ids, v_ch
        FROM audit_event e
       WHERE e.txid = NEW.txid AND e.organisation_id = v_org
         AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_id = e.id);
      v_prev := '{}';
      v_hashes := '{}';
      FOR i IN 1 .. array_length(v_ids, 1) LOOP
        v_prev[i] := v_hash;
        v_hash := encode(sha256(convert_to(v_ch[i] || v_hash, 'UTF8')), 'hex');
        v_hashes[i] := v_hash;
      END LOOP;
      INSERT INTO audit_chain (event_id, organisation_id, seq, prev_hash, hash)
      SELECT u.id, v_org, v_seq + u.ord, u.prev, u.h
        FROM unnest(v_ids, v_prev, v_hashes) WITH ORDINALITY AS u(id, prev, h, ord);
      UPDATE audit_chain_head
         SET seq = v_seq + array_length(v_ids, 1), hash = v_hash, event_id = v_ids[array_length(v_ids, 1)],
             sealed_at = now()
       WHERE organisation_id = v_org;
    END LOOP;
  END IF;
  DELETE FROM audit_pending WHERE txid = NEW.txid;
  -- Events written after an early seal (SET CONSTRAINTS audit_seal IMMEDIATE) register again.
  PERFORM set_config('sheshi.audit_tx', '', true);
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER audit_seal AFTER INSERT ON audit_pending
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_seal();

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only('audit_event_append_only');
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_chain
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only('audit_chain_append_only');

-- Only the owner's functions above call these helpers.
REVOKE EXECUTE ON FUNCTION audit_append(bigint[], text[], text, text[], jsonb[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_tx_mark() FROM PUBLIC;
