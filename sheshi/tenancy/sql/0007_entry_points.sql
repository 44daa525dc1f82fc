-- 0007: permission, membership and history tables are written only through these entry points
-- (issue #14). The application's roles keep SELECT on them and lose INSERT, UPDATE and DELETE
-- (sheshi/db/roles.py); each function below checks what the table's guard trigger checked and then
-- writes as the schema owner. The guard triggers stay: they check the owner's own writes too.
--
-- The owner is not subject to row-level security, so every entry point applies the caller's tenant
-- scope itself (sheshi.org_ids, with '*' honoured for the system role only: sheshi_scope_all()).

-- Is the organisation inside the session's tenant scope?
CREATE OR REPLACE FUNCTION sheshi_in_scope(p_organisation_id bigint) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT public.sheshi_scope_all() OR p_organisation_id = ANY (public.sheshi_scope_orgs())
$$;

-- May the acting user manage the members and roles of the organisation? The system (a system
-- session with a 'system:' actor), an active superuser, or an active administrator of it.
CREATE OR REPLACE FUNCTION sheshi_actor_manages_org(p_organisation_id bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT CASE
    WHEN coalesce(current_setting('sheshi.actor_id', true), '') = '' THEN
      coalesce(current_setting('sheshi.actor_label', true), '') LIKE 'system:%' AND public.sheshi_session_is_system()
    ELSE EXISTS (SELECT 1 FROM public.auth_user u
                  WHERE u.id = nullif(current_setting('sheshi.actor_id', true), '')::bigint AND u.is_active
                    AND (u.is_superuser OR EXISTS (
                          SELECT 1 FROM public.tenancy_membership m
                           WHERE m.organisation_id = p_organisation_id AND m.user_id = u.id
                             AND m.is_active AND m.is_org_admin)))
  END
$$;

-- The organisation of an entity the session may see, or a refusal naming the rule.
CREATE OR REPLACE FUNCTION tenancy_grantable_entity(p_entity_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_org bigint;
BEGIN
  SELECT e.organisation_id INTO v_org FROM public.tenancy_entity e WHERE e.id = p_entity_id;
  IF NOT FOUND OR NOT public.sheshi_in_scope(v_org) THEN
    RAISE EXCEPTION 'no entity % in this session''s organisations', p_entity_id
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'tenancy_permission_grant_refused';
  END IF;
  -- The rule of tenancy_permission_grant_guard (0004): a role manager of the entity, or an
  -- administrator of its organisation (the system and superusers included).
  IF NOT (public.sheshi_actor_may(p_entity_id, 'manage_roles') OR public.sheshi_actor_manages_org(v_org)) THEN
    RAISE EXCEPTION 'granting or revoking a permission on entity % needs the manage_roles permission on it',
      p_entity_id USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'tenancy_permission_grant_refused';
  END IF;
  RETURN v_org;
END $$;

CREATE OR REPLACE FUNCTION tenancy_entity_permission_id(p_codename text) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_id integer;
BEGIN
  SELECT p.id INTO v_id FROM public.auth_permission p JOIN public.django_content_type ct ON ct.id = p.content_type_id
   WHERE ct.app_label = 'tenancy' AND ct.model = 'entity' AND p.codename = p_codename;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no entity permission %', p_codename
      USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'tenancy_permission_grant_refused';
  END IF;
  RETURN v_id;
END $$;

-- Grant the entity permissions `p_codenames` to a user (p_user_id) or a group (p_group_id). A user
-- must be an active member of the entity's organisation. Granting what is held already is a no-op.
CREATE OR REPLACE FUNCTION tenancy_entity_permission_grant(p_entity_id bigint, p_codenames text[],
                                                           p_user_id bigint, p_group_id integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_org bigint;
BEGIN
  IF (p_user_id IS NULL) = (p_group_id IS NULL) THEN
    RAISE EXCEPTION 'a grant names a user or a group' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_org := public.tenancy_grantable_entity(p_entity_id);
  IF p_user_id IS NOT NULL THEN
    IF NOT EXISTS (SELECT 1 FROM public.tenancy_membership m
                    WHERE m.organisation_id = v_org AND m.user_id = p_user_id AND m.is_active) THEN
      RAISE EXCEPTION 'user % is not a member of the organisation of entity %', p_user_id, p_entity_id
        USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'tenancy_permission_grant_refused';
    END IF;
    INSERT INTO public.tenancy_entityuserobjectpermission (permission_id, user_id, content_object_id)
    SELECT public.tenancy_entity_permission_id(c), p_user_id, p_entity_id FROM unnest(p_codenames) AS c
    ON CONFLICT DO NOTHING;
  ELSE
    INSERT INTO public.tenancy_entitygroupobjectpermission (permission_id, group_id, content_object_id)
    SELECT public.tenancy_entity_permission_id(c), p_group_id, p_entity_id FROM unnest(p_codenames) AS c
    ON CONFLICT DO NOTHING;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION tenancy_entity_permission_revoke(p_entity_id bigint, p_codenames text[],
                                                            p_user_id bigint, p_group_id integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF (p_user_id IS NULL) = (p_group_id IS NULL) THEN
    RAISE EXCEPTION 'a revocation names a user or a group' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM public.tenancy_grantable_entity(p_entity_id);
  IF p_user_id IS NOT NULL THEN
    DELETE FROM public.tenancy_entityuserobjectpermission o
     WHERE o.content_object_id = p_entity_id AND o.user_id = p_user_id
       AND o.permission_id IN (SELECT public.tenancy_entity_permission_id(c) FROM unnest(p_codenames) AS c);
  ELSE
    DELETE FROM public.tenancy_entitygroupobjectpermission o
     WHERE o.content_object_id = p_entity_id AND o.group_id = p_group_id
       AND o.permission_id IN (SELECT public.tenancy_entity_permission_id(c) FROM unnest(p_codenames) AS c);
  END IF;
END $$;

-- Add a user to an organisation or change the membership (administrator flag, active flag). Only
-- the system, a superuser or an administrator of the organisation may. Returns the membership id.
CREATE OR REPLACE FUNCTION tenancy_membership_set(p_organisation_id bigint, p_user_id bigint,
                                                  p_is_org_admin boolean, p_is_active boolean) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_id bigint;
BEGIN
  IF NOT public.sheshi_in_scope(p_organisation_id) OR NOT public.sheshi_actor_manages_org(p_organisation_id) THEN
    RAISE EXCEPTION 'changing the members of organisation % needs an administrator of it', p_organisation_id
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'tenancy_membership_change_refused';
  END IF;
  INSERT INTO public.tenancy_membership (organisation_id, user_id, is_org_admin, is_active, created_at)
  VALUES (p_organisation_id, p_user_id, p_is_org_admin, p_is_active, now())
  ON CONFLICT (organisation_id, user_id)
  DO UPDATE SET is_org_admin = EXCLUDED.is_org_admin, is_active = EXCLUDED.is_active
  RETURNING id INTO v_id;
  RETURN v_id;
END $$;

-- Remove a user from an organisation, with the user's roles on its entities (a role is granted to a
-- member only). Returns the removed membership's id, NULL when there was none.
CREATE OR REPLACE FUNCTION tenancy_membership_remove(p_organisation_id bigint, p_user_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_id bigint;
BEGIN
  IF NOT public.sheshi_in_scope(p_organisation_id) OR NOT public.sheshi_actor_manages_org(p_organisation_id) THEN
    RAISE EXCEPTION 'changing the members of organisation % needs an administrator of it', p_organisation_id
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'tenancy_membership_change_refused';
  END IF;
  DELETE FROM public.tenancy_entityuserobjectpermission o
   USING public.tenancy_entity e
   WHERE e.id = o.content_object_id AND e.organisation_id = p_organisation_id AND o.user_id = p_user_id;
  DELETE FROM public.tenancy_membership m WHERE m.organisation_id = p_organisation_id AND m.user_id = p_user_id
  RETURNING id INTO v_id;
  RETURN v_id;
END $$;

-- A history table: one that carries the history guard (sheshi/db/hardening.py attaches it to every
-- simple-history table; tests/foundation/test_database_structure.py checks none is missed). The
-- organisation column its rows are scoped by: organisation_id, or id for the organisation's own.
CREATE OR REPLACE FUNCTION sheshi_history_table(p_table text, OUT tenant_column text, OUT id_column text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_rel oid;
BEGIN
  SELECT c.oid INTO v_rel FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relname = p_table AND c.relkind = 'r'
     AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'sheshi_history_rows_guard');
  IF NOT FOUND THEN
    RAISE EXCEPTION '% is not a history table', p_table
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'sheshi_history_table_unknown';
  END IF;
  SELECT a.attname INTO tenant_column FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = v_rel AND a.attname IN ('organisation_id', 'id') AND NOT a.attisdropped
   ORDER BY a.attname = 'organisation_id' DESC LIMIT 1;
  SELECT a.attname INTO id_column FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = v_rel AND a.attidentity <> '' AND NOT a.attisdropped;
END $$;

-- Append history rows (a jsonb array of objects keyed by column name) to a history table; returns
-- their ids in order. The table's guard (sheshi_history_rows_guard) refuses a back-dated row or one
-- naming another user than the acting one; rows outside the session's organisations are refused here.
CREATE OR REPLACE FUNCTION sheshi_history_append(p_table text, p_rows jsonb) RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  t record;
  v_cols text;
  v_outside boolean;
BEGIN
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

-- Set-based history for rows written by SQL (the bulk posting and bulk reversal paths): a copy of
-- each row `p_ids` of the recorded table as it is now, dated now, by `p_user_id` (the table's guard
-- checks that is the acting user). Honest by construction: the rows come from the table itself. The
-- scope is read once per statement (sub-selects, as in the row-level security policies), not per row;
-- the ids are read as runs of consecutive ids (a bulk posting's are), one index range scan per run.
CREATE OR REPLACE FUNCTION sheshi_history_record(p_table text, p_ids bigint[], p_type text, p_user_id bigint,
                                                 p_reason text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  t record;
  v_base text := regexp_replace(p_table, '_historical', '_');
  v_cols text;
  v_n bigint;
BEGIN
  SELECT * INTO t FROM public.sheshi_history_table(p_table);
  IF p_type NOT IN ('+', '~') THEN
    RAISE EXCEPTION 'history type % is not a copy of a present row', p_type USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT string_agg(quote_ident(h.attname), ', ' ORDER BY h.attnum) INTO v_cols
    FROM pg_catalog.pg_attribute h JOIN pg_catalog.pg_attribute b
      ON b.attrelid = format('public.%I', v_base)::regclass AND b.attname = h.attname AND b.attnum > 0
         AND NOT b.attisdropped
   WHERE h.attrelid = format('public.%I', p_table)::regclass AND h.attnum > 0 AND NOT h.attisdropped
     AND h.attidentity = '';
  EXECUTE format('INSERT INTO public.%I (%s, history_date, history_type, history_user_id, history_change_reason, '
                 'request_id) SELECT %s, now(), $2, $3, left($4, 100), '
                 'left(coalesce(current_setting(''sheshi.request_id'', true), ''''), 64) '
                 'FROM public.%I b JOIN (SELECT min(i) AS sheshi_lo, max(i) AS sheshi_hi '
                 '                         FROM (SELECT i, i - row_number() OVER (ORDER BY i) AS g '
                 '                                 FROM (SELECT DISTINCT unnest($1) AS i) u) s GROUP BY g) r '
                 '  ON b.id BETWEEN r.sheshi_lo AND r.sheshi_hi '
                 'WHERE (SELECT public.sheshi_scope_all()) OR b.%I = ANY ((SELECT public.sheshi_scope_orgs())::bigint[])',
                 p_table, v_cols, v_cols, v_base, t.tenant_column) USING p_ids, p_type, p_user_id, p_reason;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  RETURN v_n;
END $$;

-- Set a user's groups (exactly `p_group_ids`). A group's per-entity grants reach its members
-- (sheshi_actor_may), and groups belong to no organisation, so only the system or an active
-- superuser may.
CREATE OR REPLACE FUNCTION sheshi_user_groups_set(p_user_id bigint, p_group_ids integer[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF NOT (CASE WHEN coalesce(current_setting('sheshi.actor_id', true), '') = '' THEN
                 coalesce(current_setting('sheshi.actor_label', true), '') LIKE 'system:%'
                 AND public.sheshi_session_is_system()
               ELSE EXISTS (SELECT 1 FROM public.auth_user u
                             WHERE u.id = nullif(current_setting('sheshi.actor_id', true), '')::bigint
                               AND u.is_active AND u.is_superuser) END) THEN
    RAISE EXCEPTION 'changing a user''s groups needs the system or a superuser'
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'sheshi_group_change_refused';
  END IF;
  DELETE FROM public.auth_user_groups ug WHERE ug.user_id = p_user_id AND ug.group_id <> ALL (p_group_ids);
  INSERT INTO public.auth_user_groups (user_id, group_id) SELECT p_user_id, g FROM unnest(p_group_ids) AS g
  ON CONFLICT DO NOTHING;
END $$;

-- The guard of 0004, whole, with one fix: its membership check named NEW.user_id in an expression
-- PL/pgSQL plans for both tables, so any row of the group table failed ('record "new" has no field
-- "user_id"') and no group could be granted anything. The user check is now taken on its own.
CREATE OR REPLACE FUNCTION tenancy_permission_grant_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF NOT (public.sheshi_actor_may(NEW.content_object_id, 'manage_roles') OR EXISTS (
      SELECT 1 FROM public.tenancy_membership m JOIN public.tenancy_entity e ON e.organisation_id = m.organisation_id
       WHERE e.id = NEW.content_object_id AND m.is_active AND m.is_org_admin
         AND m.user_id = nullif(current_setting('sheshi.actor_id', true), '')::bigint)) THEN
    RAISE EXCEPTION 'granting a permission on entity % needs the manage_roles permission on it', NEW.content_object_id
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'tenancy_permission_grant_refused';
  END IF;
  IF TG_TABLE_NAME = 'tenancy_entityuserobjectpermission' THEN
    IF NOT EXISTS (
        SELECT 1 FROM public.tenancy_membership m JOIN public.tenancy_entity e ON e.organisation_id = m.organisation_id
         WHERE e.id = NEW.content_object_id AND m.user_id = (to_jsonb(NEW) ->> 'user_id')::bigint AND m.is_active) THEN
      RAISE EXCEPTION 'user % is not a member of the organisation of entity %', to_jsonb(NEW) ->> 'user_id',
        NEW.content_object_id USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'tenancy_permission_grant_refused';
    END IF;
  END IF;
  RETURN NEW;
END $$;
