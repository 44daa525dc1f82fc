from django.db import migrations

from sheshi.db.rls import SCOPE_FUNCTIONS_REVERSE_SQL, SCOPE_FUNCTIONS_SQL, enable_tenant_rls

USER_ORGS_SQL = """
CREATE OR REPLACE FUNCTION sheshi_user_org_ids(p_user_id bigint) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT coalesce(string_agg(organisation_id::text, ',' ORDER BY organisation_id), '')
  FROM tenancy_membership WHERE user_id = p_user_id AND is_active
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]

    operations = [
        migrations.RunSQL(SCOPE_FUNCTIONS_SQL, SCOPE_FUNCTIONS_REVERSE_SQL),
        # SECURITY DEFINER: decides the caller's scope, so it must read memberships before a scope
        # exists. It returns only the given user's organisation ids.
        migrations.RunSQL(USER_ORGS_SQL, "DROP FUNCTION IF EXISTS sheshi_user_org_ids(bigint);"),
        enable_tenant_rls("tenancy_organisation", column="id"),
        enable_tenant_rls("tenancy_entity"),
        enable_tenant_rls("tenancy_membership"),
    ]
