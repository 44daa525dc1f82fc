-- 0009: the audit trail for governed tables that carry no organisation (user accounts, groups
-- and their permissions, API tokens, second-factor devices): the platform chain (organisation 0).
-- One event per row, like audit_capture's per-row path, with two differences those tables need:
--   * p_ignore: columns whose change alone is not an event (a login's last_login, a token's
--     last_used_at, a TOTP device's counters) — recording them would bury the trail in logins;
--   * p_redact: columns whose value never enters the trail (a password hash, a TOTP secret):
--     the event says the column changed, with "[redacted]" in place of the value.
-- Arguments: object type, columns to ignore (array literal), columns to redact (array literal).
CREATE OR REPLACE FUNCTION audit_capture_platform() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
  v_type text := TG_ARGV[0];
  v_ignore text[] := TG_ARGV[1]::text[];
  v_redact text[] := TG_ARGV[2]::text[];
  v_old jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
  v_new jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
  v_before jsonb;
  v_after jsonb;
  k text;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    SELECT jsonb_object_agg(key, o.value) FILTER (WHERE o.value IS NOT NULL),
           jsonb_object_agg(key, n.value) FILTER (WHERE n.value IS NOT NULL)
      INTO v_before, v_after
      FROM jsonb_each(v_old) o FULL JOIN jsonb_each(v_new) n USING (key)
     WHERE o.value IS DISTINCT FROM n.value AND NOT key = ANY (v_ignore);
    IF v_before IS NULL AND v_after IS NULL THEN
      RETURN NULL;  -- only ignored columns changed
    END IF;
  ELSE
    v_before := v_old;
    v_after := v_new;
  END IF;
  FOREACH k IN ARRAY v_redact LOOP
    IF v_before ? k THEN v_before := jsonb_set(v_before, ARRAY[k], '"[redacted]"'); END IF;
    IF v_after ? k THEN v_after := jsonb_set(v_after, ARRAY[k], '"[redacted]"'); END IF;
  END LOOP;
  PERFORM public.audit_record(0, lower(TG_OP), v_type, coalesce(v_new, v_old) ->> 'id',
    CASE TG_OP WHEN 'INSERT' THEN jsonb_build_object('after', v_after)
               WHEN 'DELETE' THEN jsonb_build_object('before', v_before)
               ELSE jsonb_build_object('before', coalesce(v_before, '{}'), 'after', coalesce(v_after, '{}')) END);
  RETURN NULL;
END $$;

CREATE TRIGGER audit_capture_platform AFTER INSERT OR UPDATE OR DELETE ON auth_user
  FOR EACH ROW EXECUTE FUNCTION audit_capture_platform('auth.user', '{last_login}', '{password}');
CREATE TRIGGER audit_capture_platform AFTER INSERT OR UPDATE OR DELETE ON auth_group
  FOR EACH ROW EXECUTE FUNCTION audit_capture_platform('auth.group', '{}', '{}');
CREATE TRIGGER audit_capture_platform AFTER INSERT OR UPDATE OR DELETE ON auth_user_groups
  FOR EACH ROW EXECUTE FUNCTION audit_capture_platform('auth.user_groups', '{}', '{}');
CREATE TRIGGER audit_capture_platform AFTER INSERT OR UPDATE OR DELETE ON auth_group_permissions
  FOR EACH ROW EXECUTE FUNCTION audit_capture_platform('auth.group_permissions', '{}', '{}');
CREATE TRIGGER audit_capture_platform AFTER INSERT OR UPDATE OR DELETE ON auth_user_user_permissions
  FOR EACH ROW EXECUTE FUNCTION audit_capture_platform('auth.user_user_permissions', '{}', '{}');
CREATE TRIGGER audit_capture_platform AFTER INSERT OR UPDATE OR DELETE ON access_apitoken
  FOR EACH ROW EXECUTE FUNCTION audit_capture_platform('access.apitoken', '{last_used_at}', '{}');
CREATE TRIGGER audit_capture_platform AFTER INSERT OR UPDATE OR DELETE ON otp_totp_totpdevice
  FOR EACH ROW EXECUTE FUNCTION audit_capture_platform('otp_totp.totpdevice',
    '{last_t,drift,throttling_failure_timestamp,throttling_failure_count,last_used_at}', '{key}');
