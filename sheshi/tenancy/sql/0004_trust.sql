-- 0004: what the database checks itself about the acting user, and identity that never moves.
--
-- The application's role sets the acting user (sheshi.actor_id) and the tenant scope; PostgreSQL
-- takes those on trust (SECURITY.md, "What the database takes on trust"). Everything beyond
-- identity is checked here against the grants stored in the database: a session that sets
-- sheshi.actor_id to a preparer cannot act as a controller.

-- May the acting user do `p_codename` on entity `p_entity_id`? The system (no actor id, an actor
-- label 'system:…': management commands and jobs) may; a user may when active and a superuser,
-- or granted the permission on the entity directly or through a group (the tables guardian
-- reads, as sheshi/access/checks.py does).
CREATE OR REPLACE FUNCTION sheshi_actor_may(p_entity_id bigint, p_codename text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT CASE
    WHEN coalesce(current_setting('sheshi.actor_id', true), '') = '' THEN
      coalesce(current_setting('sheshi.actor_label', true), '') LIKE 'system:%'
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

-- An entity belongs to one organisation for life: its entries, periods and balances stay behind
-- in the organisation they were booked in, so moving the entity would split its books.
CREATE OR REPLACE FUNCTION tenancy_entity_identity_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF NEW.organisation_id <> OLD.organisation_id THEN
    RAISE EXCEPTION 'entity % cannot move to another organisation', OLD.code
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'tenancy_entity_organisation_fixed';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER tenancy_entity_identity_guard BEFORE UPDATE OF organisation_id ON tenancy_entity
  FOR EACH ROW EXECUTE FUNCTION tenancy_entity_identity_guard();

-- A per-entity permission is granted only by someone who manages roles on that entity (or an
-- administrator of its organisation), and only
-- to an active member of the entity's organisation (a grant across organisations would let a
-- user of one tenant act in another's books).
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
  IF TG_TABLE_NAME = 'tenancy_entityuserobjectpermission' AND NOT EXISTS (
      SELECT 1 FROM public.tenancy_membership m JOIN public.tenancy_entity e ON e.organisation_id = m.organisation_id
       WHERE e.id = NEW.content_object_id AND m.user_id = NEW.user_id AND m.is_active) THEN
    RAISE EXCEPTION 'user % is not a member of the organisation of entity %', NEW.user_id, NEW.content_object_id
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'tenancy_permission_grant_refused';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER tenancy_permission_grant_guard BEFORE INSERT OR UPDATE ON tenancy_entityuserobjectpermission
  FOR EACH ROW EXECUTE FUNCTION tenancy_permission_grant_guard();
CREATE TRIGGER tenancy_permission_grant_guard BEFORE INSERT OR UPDATE ON tenancy_entitygroupobjectpermission
  FOR EACH ROW EXECUTE FUNCTION tenancy_permission_grant_guard();

-- History rows (django-simple-history) are written by the application, so they cannot be made
-- unwritable; they can be made honest: a row is dated now (not back-dated into a closed month:
-- five minutes either side for clock skew between application and database hosts) and, when a
-- user is acting, it names that user. Attached to every history table by
-- consolidation/migrations/0006 (a structural test checks none is missed).
CREATE OR REPLACE FUNCTION sheshi_history_rows_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_actor text := coalesce(current_setting('sheshi.actor_id', true), '');
  bad record;
BEGIN
  SELECT n.history_date, n.history_user_id INTO bad FROM new_rows n
   WHERE n.history_date NOT BETWEEN now() - interval '5 minutes' AND clock_timestamp() + interval '5 minutes'
      OR (v_actor <> '' AND n.history_user_id IS NOT NULL AND n.history_user_id <> nullif(v_actor, '')::bigint)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'history row on % dated % by user % is not a record of this change (now, by the acting user %)',
      TG_TABLE_NAME, bad.history_date, bad.history_user_id, nullif(v_actor, '')
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'sheshi_history_row_forged';
  END IF;
  RETURN NULL;
END $$;
