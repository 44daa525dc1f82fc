"""Structural checks of the schema (issue #14): they fail when a new function, table or history
table is added without the protection every other one has."""
from __future__ import annotations

import pytest
from django.db import connection

from sheshi.db.hardening import HISTORY_GUARD_TRIGGER, INLINED_FUNCTIONS, PINNED_SEARCH_PATH
from tests.conftest import requires_role_split

pytestmark = pytest.mark.django_db

# Tables without the audit trigger, each with its reason. Everything else in the schema that holds
# governed data must be in the trail.
UNAUDITED = {
    # The trail itself and its machinery: append-only, hash-chained (audit/sql/0002_core.sql).
    "audit_event": "the trail itself", "audit_chain": "the trail's hash chain",
    "audit_chain_head": "the chain's head pointer, rewritten by the sealing function only",
    "audit_pending": "transactions waiting to be sealed",
    "audit_webhookstate": "delivery progress of webhooks (a cursor over the trail, not data)",
    # Derived data, written by owner functions only, recomputable from audited rows.
    "ledger_balance": "maintained by the posting trigger from audited lines (verify_balances recomputes it)",
    "ledger_line_entry_pending": "lines waiting for their entry's commit-time check",
    "consolidation_consolidationrun": "job state and results recomputed from audited inputs; fingerprinted, "
                                      "and in simple-history",
    # Framework tables: sessions, lockout counters, job queue, schema bookkeeping, content types.
    "django_session": "sessions", "django_migrations": "schema bookkeeping", "django_content_type": "framework",
    "auth_permission": "permission definitions, from migrations",
    "django_admin_log": "the admin's own log of changes the audit trail already records",
    "django_q_ormq": "job queue", "django_q_schedule": "job schedules", "django_q_task": "job results",
    "sheshi_api_idempotencyrecord": "stored answers for Idempotency-Key retries; the writes they answer are audited",
    "axes_accessattempt": "login lockout counters", "axes_accessattemptexpiration": "login lockout counters",
    "axes_accessfailurelog": "login failures (security log)", "axes_accesslog": "logins (security log)",
    # Read-only for the application role (sheshi/db/roles.py): Sheshi grants through the direct-FK tables.
    "guardian_userobjectpermission": "unused by Sheshi; the app role may not write it",
    "guardian_groupobjectpermission": "unused by Sheshi; the app role may not write it",
}
AUDIT_TRIGGERS = ("audit_capture_insert", "audit_capture_platform")


def rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchall()


def test_every_function_pins_its_search_path_with_the_temporary_schema_last():
    functions = rows("""
        SELECT p.proname, p.prosecdef, coalesce(p.proconfig, '{}'), l.lanname
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
         WHERE n.nspname = 'public' AND p.prokind = 'f'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')""")
    assert len(functions) > 40
    unpinned = sorted(name for name, _definer, config, _lang in functions
                      if name not in INLINED_FUNCTIONS and f"search_path={PINNED_SEARCH_PATH}" not in config)
    assert unpinned == []
    # The exceptions are plain SQL, not SECURITY DEFINER, and set nothing (or they would not inline).
    inlined = [(name, definer, config, lang) for name, definer, config, lang in functions if name in INLINED_FUNCTIONS]
    assert sorted(name for name, *_ in inlined) == sorted(INLINED_FUNCTIONS)
    assert all(not definer and config == [] and lang == "sql" for _, definer, config, lang in inlined)


@requires_role_split
def test_the_application_role_may_not_create_temporary_tables():
    role = connection.settings_dict["USER"]
    assert rows("SELECT has_database_privilege(%s, current_database(), 'TEMPORARY')", [role]) == [(False,)]


def test_every_governed_table_is_audited_or_on_the_reasoned_list():
    tables = rows("""
        SELECT c.relname, EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = ANY(%s))
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')""", [list(AUDIT_TRIGGERS)])
    names = {name for name, _ in tables}
    assert set(UNAUDITED) <= names, set(UNAUDITED) - names  # no stale entries on the list
    unaudited = sorted(name for name, audited in tables
                       if not audited and name not in UNAUDITED and "_historical" not in name)
    assert unaudited == []


def test_every_history_table_refuses_forged_rows():
    missing = rows("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE '%%\\_historical%%'
           AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = %s)""",
                   [HISTORY_GUARD_TRIGGER])
    assert missing == []
    n_history = rows("SELECT count(*) FROM pg_tables "
                     "WHERE schemaname = 'public' AND tablename LIKE '%%\\_historical%%'")
    assert n_history[0][0] > 10
