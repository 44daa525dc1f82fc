-- Making someone a superuser is a grant of every permission (sheshi_actor_may trusts the flag), so
-- like every other grant it is checked by the database, not taken from the app role on trust: only
-- the system (jobs role or owner, with no acting user: createsuperuser, the demo) or an active
-- superuser acting may set or clear it (issue #14; SECURITY.md "What the database takes on trust").
CREATE OR REPLACE FUNCTION sheshi_superuser_flag_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_actor bigint := nullif(current_setting('sheshi.actor_id', true), '')::bigint;
BEGIN
  IF TG_OP = 'INSERT' AND NOT NEW.is_superuser THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.is_superuser IS NOT DISTINCT FROM OLD.is_superuser THEN
    RETURN NEW;
  END IF;
  IF NOT (CASE WHEN v_actor IS NULL THEN public.sheshi_session_is_system()
               ELSE EXISTS (SELECT 1 FROM public.auth_user u WHERE u.id = v_actor AND u.is_active AND u.is_superuser)
          END) THEN
    RAISE EXCEPTION 'making or unmaking a superuser needs the system or a superuser acting'
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'sheshi_superuser_change_refused';
  END IF;
  RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS sheshi_superuser_flag_guard ON auth_user;
CREATE TRIGGER sheshi_superuser_flag_guard BEFORE INSERT OR UPDATE OF is_superuser ON auth_user
  FOR EACH ROW EXECUTE FUNCTION sheshi_superuser_flag_guard();
