"""Row-level security for tenant-owned tables (defence in depth under the code's own scoping).

The policy compares the row's organisation with ``sheshi.org_ids`` (sheshi/db/context.py). The
scope functions sit in sub-selects so PostgreSQL evaluates them once per query (an InitPlan),
not once per row, and an index on organisation_id stays usable.
"""
from __future__ import annotations

from django.db import migrations

SCOPE_FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION sheshi_scope_all() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(current_setting('sheshi.org_ids', true), '') = '*'
$$;
CREATE OR REPLACE FUNCTION sheshi_scope_orgs() RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN coalesce(current_setting('sheshi.org_ids', true), '') IN ('', '*')
              THEN '{}'::bigint[]
              ELSE string_to_array(current_setting('sheshi.org_ids', true), ',')::bigint[] END
$$;
"""
SCOPE_FUNCTIONS_REVERSE_SQL = "DROP FUNCTION IF EXISTS sheshi_scope_all(); DROP FUNCTION IF EXISTS sheshi_scope_orgs();"


def policy_predicate(column: str = "organisation_id") -> str:
    return f"((SELECT sheshi_scope_all()) OR {column} = ANY ((SELECT sheshi_scope_orgs())::bigint[]))"


def enable_tenant_rls(table: str, column: str = "organisation_id") -> migrations.RunSQL:
    """Migration operation: turn on RLS for a tenant-owned table (the owner role is exempt;
    the application role is not)."""
    pred = policy_predicate(column)
    return migrations.RunSQL(
        sql=f"""
            ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON {table} USING {pred} WITH CHECK {pred};
        """,
        reverse_sql=f"""
            DROP POLICY IF EXISTS tenant_isolation ON {table};
            ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
        """,
    )
