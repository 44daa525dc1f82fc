"""Schema-wide hardening that no single app's rules can do alone (issue #14).

* **Pinned search paths.** PostgreSQL resolves an unqualified table name through the search
  path, and a session's temporary schema comes first unless named. A function that reads
  ``periods_entityperiod`` unqualified would read a temporary table of that name created by the
  caller: a locked period would look open, an audit insert would land in a throw-away table.
  Every function of the schema therefore runs with ``search_path = pg_catalog, public, pg_temp``
  (temporary schema last), except the few in ``INLINED_FUNCTIONS``: relation-free SQL functions
  that PostgreSQL inlines into their callers, which a SET clause would prevent (they name every
  function they call with its schema, and functions and operators are never looked up in the
  temporary schema).
* **No temporary tables for the application.** ``TEMPORARY`` on the database is revoked from
  PUBLIC (and from the app role in sheshi/db/roles.py): the bulk path's staging tables are made
  by the owner (ledger/sql/0016_bulk_staging.sql).
* **Honest history rows.** Every simple-history table gets ``sheshi_history_rows_guard``
  (sheshi/tenancy/sql/0004_trust.sql).

tests/foundation/test_database_structure.py fails on a function, database or history table
that is not so.
"""
from __future__ import annotations

PINNED_SEARCH_PATH = "pg_catalog, public, pg_temp"
INLINED_FUNCTIONS = frozenset({"audit_canonical", "audit_content_hash", "sheshi_scope_orgs"})
HISTORY_GUARD_TRIGGER = "sheshi_history_rows_guard"

PIN_FUNCTIONS_SQL = f"""
DO $$
DECLARE
  f record;
BEGIN
  FOR f IN SELECT p.oid::regprocedure AS sig
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) = current_user
              AND p.prokind = 'f'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
              AND NOT (p.proname = ANY (ARRAY{sorted(INLINED_FUNCTIONS)!r}))
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = {PINNED_SEARCH_PATH}', f.sig);
  END LOOP;
END $$;
"""

REVOKE_TEMPORARY_SQL = """
DO $$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END $$;
"""

GUARD_HISTORY_SQL = f"""
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE '%\\_historical%'
              AND NOT EXISTS (SELECT 1 FROM pg_trigger g
                               WHERE g.tgrelid = c.oid AND g.tgname = '{HISTORY_GUARD_TRIGGER}')
  LOOP
    EXECUTE format('CREATE TRIGGER {HISTORY_GUARD_TRIGGER} AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION sheshi_history_rows_guard()', t.relname);
  END LOOP;
END $$;
"""
