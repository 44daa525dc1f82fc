-- The system's powers need the system's credentials (issue #14 item 6; SECURITY.md).
-- A session is the system when it logged in as a member of the NOLOGIN role sheshi_system (the jobs
-- role of the worker and management commands). session_user, not current_user: a SECURITY DEFINER
-- function runs as the owner and must not lend that to its caller. The schema owner (migrations,
-- break-glass repairs) owns every table anyway and counts as the system too.
CREATE OR REPLACE FUNCTION sheshi_session_is_system() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = 'sheshi_system' AND pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER'))
      OR pg_catalog.pg_has_role(session_user, (SELECT c.relowner FROM pg_catalog.pg_class c
                                                 WHERE c.oid = 'public.tenancy_organisation'::pg_catalog.regclass),
                                'MEMBER')
$$;

-- '*' (every organisation) only for the system; from any other session it is refused on the first
-- read of a tenant table, loudly, instead of silently opening every tenant.
CREATE OR REPLACE FUNCTION sheshi_scope_all() RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF coalesce(current_setting('sheshi.org_ids', true), '') <> '*' THEN
    RETURN false;
  END IF;
  IF sheshi_session_is_system() THEN
    RETURN true;
  END IF;
  RAISE EXCEPTION 'the all-organisations scope is for the system role; % must name its organisations', session_user
    USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'sheshi_system_scope_only';
END $$;

-- A web session's scope: the user's organisations, and for an active superuser every organisation,
-- as an explicit list (never '*'). sheshi_user_org_ids stays the memberships alone: audit events of a
-- user's sign-in go to the organisations the user belongs to, not to every tenant.
CREATE OR REPLACE FUNCTION sheshi_user_scope_org_ids(p_user_id bigint) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '')
  FROM (
    SELECT o.id FROM tenancy_organisation o
     WHERE EXISTS (SELECT 1 FROM auth_user u WHERE u.id = p_user_id AND u.is_superuser AND u.is_active)
    UNION
    SELECT m.organisation_id FROM tenancy_membership m WHERE m.user_id = p_user_id AND m.is_active
  ) orgs
$$;

-- An actor without a user id is "the system" only in a system session: a web session labelling
-- itself 'system:...' gets no privilege from the label.
CREATE OR REPLACE FUNCTION sheshi_actor_may(p_entity_id bigint, p_codename text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT CASE
    WHEN coalesce(current_setting('sheshi.actor_id', true), '') = '' THEN
      coalesce(current_setting('sheshi.actor_label', true), '') LIKE 'system:%' AND public.sheshi_session_is_system()
    ELSE EXISTS (
      SELECT 1 FROM public.auth_user u
       WHERE u.id = nullif(current_setting('sheshi.actor_id', true), '')::bigint AND u.is_active
         AND (u.is_superuser
              OR EXISTS (SELECT 1 FROM public.tenancy_entityuserobjectpermission uop
                           JOIN public.auth_permission p ON p.id = uop.permission_id
                          WHERE uop.user_id = u.id AND uop.content_object_id = p_entity_id
                            AND p.codename = p_codename)
              OR EXISTS (SELECT 1 FROM public.tenancy_entitygroupobjectpermission gop
                           JOIN public.auth_user_groups ug ON ug.group_id = gop.group_id
                           JOIN public.auth_permission p ON p.id = gop.permission_id
                          WHERE ug.user_id = u.id AND gop.content_object_id = p_entity_id
                            AND p.codename = p_codename)))
  END
$$;
