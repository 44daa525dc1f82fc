"""What the application's own database credentials cannot do, against committed data.

Every attempt runs on a raw connection as the application's role (what a buggy caller, an
injected query or a stolen app password could do), in its own transaction. Each must fail with
its specific error — the named rule (SQLSTATE 23xxx + constraint name) or the missing privilege
(SQLSTATE 42501 + PostgreSQL's message) — and a fingerprint of the ledger, periods and audit
tables, taken as the owner, must be identical before and after.

The data is created once per module through the ORM outside any test transaction, so it is
really committed (triggers that fire at commit, row-level security on committed rows), and is
removed by the owner-side clean-up the transactional tests use.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from ledger.models import JournalEntry
from ledger.services.entries import journal_entry_create, journal_entry_create_and_post
from sheshi.db.context import ALL_ORGS, set_context
from tests.conftest import _owner_flush, requires_role_split
from tests.ledger.helpers import build_world
from tests.locking import lock_through

pytestmark = requires_role_split

INSUFFICIENT_PRIVILEGE = "42501"
INTEGRITY = "23000"
CHECK_VIOLATION = "23514"

# Tables whose content must not move when an attempt is refused (optional ones may not exist yet).
FINGERPRINT_TABLES = ("ledger_journalentry", "ledger_journalline", "ledger_balance", "periods_entityperiod",
                      "periods_periodlocksnapshot", "audit_event", "audit_chain", "audit_chain_head")
LOCK_REASON = "February closed"


@dataclass(frozen=True)
class Committed:
    params: dict[str, int | str]
    has_audit: bool


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    """Two organisations (ACME, OTHR), posted entries in each, ACME's February locked, and a draft
    in each prepared by a named user. Committed; cleaned up by the owner after the module."""
    with django_db_blocker.unblock():
        set_context({"sheshi.org_ids": ALL_ORGS, "sheshi.actor_id": "", "sheshi.actor_label": "system:tests"})
        try:
            acme, othr = build_world("ACME"), build_world("OTHR")
            posted = journal_entry_create_and_post(actor=None, entity=acme.entity, entry=acme.sale("100")).entry
            posted_feb = journal_entry_create_and_post(
                actor=None, entity=acme.entity, entry=acme.sale("40", day=acme.period("2026-02").start_date)).entry
            journal_entry_create_and_post(actor=None, entity=othr.entity, entry=othr.sale("70"))
            locked_ep = acme.entity_period("2026-02")
            lock_through(actor=None, entity_period_id=locked_ep.pk, reason=LOCK_REASON)
            preparer = get_user_model().objects.create_user("preparer", password="x" * 16)
            draft = journal_entry_create(actor=None, entity=acme.entity, entry=acme.sale("30")).entry
            JournalEntry.objects.filter(pk=draft.pk).update(created_by=preparer)
            other_draft = journal_entry_create(actor=None, entity=othr.entity, entry=othr.sale("9")).entry
            with connection.cursor() as cur:
                cur.execute("SELECT to_regclass('audit_event') IS NOT NULL")
                has_audit = cur.fetchone()[0]
            params = {
                "org": acme.org.pk, "other_org": othr.org.pk, "entity": acme.entity.pk,
                "posted": posted.pk, "posted_feb": posted_feb.pk, "draft": draft.pk, "other_draft": other_draft.pk,
                "preparer": preparer.pk, "locked_period": acme.period("2026-02").pk, "locked_ep": locked_ep.pk,
                "open_period": acme.period("2026-03").pk, "acc_1200": acme.acc("1200"),
                "acc_4100": acme.acc("4100"), "other_acc": othr.acc("1200"), "other_entity": othr.entity.pk,
            }
            yield Committed(params=params, has_audit=has_audit)
        finally:
            _owner_flush(None)
            with contextlib.suppress(Exception):
                set_context({"sheshi.org_ids": "", "sheshi.actor_id": "", "sheshi.actor_label": ""})


@pytest.fixture
def app(jobs_sql):
    """The strongest non-owner session: the jobs role (the app role's rights plus the system's
    scope and actor), seeing every organisation and acting as a named actor, so that neither
    row-level security nor the audit actor check is what refuses an attempt. (The web role itself
    may not take that scope: tests/security/test_system_scope.py.)"""
    jobs_sql.execute("SELECT set_config('sheshi.org_ids', '*', false), "
                     "set_config('sheshi.actor_label', 'system:attacker', false)")
    return jobs_sql


def fingerprint(owner) -> dict[str, tuple]:
    out = {}
    for table in FINGERPRINT_TABLES:
        if owner.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]:
            out[table] = owner.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
            ).fetchone()
    return out


def refused(app, owner, statements: str | list[str], params: dict, *, sqlstate: str,
            constraint: str | None = None, message: str = "") -> psycopg.Error:
    """Run the statements in one transaction as ``app``; assert the exact refusal and that the
    owner sees no change."""
    before = fingerprint(owner)
    with pytest.raises(psycopg.Error) as exc, app.transaction():
        for stmt in [statements] if isinstance(statements, str) else statements:
            app.execute(stmt, params if "%(" in stmt else None)
    err = exc.value
    got = (err.sqlstate, err.diag.constraint_name)
    assert got == (sqlstate, constraint), (got, err.diag.message_primary)
    assert message in (err.diag.message_primary or ""), err.diag.message_primary
    assert fingerprint(owner) == before
    return err


# --- posted entries and lines never change ------------------------------------------------------

LINE_RULES = [
    ("update_posted_line_amount",
     "UPDATE ledger_journalline SET functional_amount = functional_amount * 2, amount = amount * 2 "
     "WHERE entry_id = %(posted)s"),
    ("update_posted_line_memo", "UPDATE ledger_journalline SET memo = 'tidied' WHERE entry_id = %(posted)s"),
    ("delete_posted_line", "DELETE FROM ledger_journalline WHERE entry_id = %(posted)s AND line_no = 1"),
    ("add_line_to_posted_entry", """
        INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
            currency, amount, rate, functional_amount, dimensions, memo, source_raw)
        VALUES (%(org)s, %(entity)s, %(open_period)s, %(posted)s, 9, %(acc_1200)s, 'EUR', 0.0001, 1, 0.0001,
                '{}', '', '')"""),
]


@pytest.mark.parametrize(("case", "sql"), LINE_RULES, ids=[c[0] for c in LINE_RULES])
def test_app_role_cannot_change_a_posted_line(committed, app, owner_sql, case, sql):
    refused(app, owner_sql, sql, committed.params, sqlstate=INTEGRITY, constraint="ledger_line_entry_not_draft")


ENTRY_RULES = [
    ("rewrite_description", "UPDATE ledger_journalentry SET description = 'rewritten' WHERE id = %(posted)s"),
    ("unpost", "UPDATE ledger_journalentry SET status = 'draft', posted_at = NULL WHERE id = %(posted)s"),
    ("move_date", "UPDATE ledger_journalentry SET entry_date = '2026-03-31' WHERE id = %(posted)s"),
    ("delete_posted_entry", "DELETE FROM ledger_journalentry WHERE id = %(posted)s"),
]


@pytest.mark.parametrize(("case", "sql"), ENTRY_RULES, ids=[c[0] for c in ENTRY_RULES])
def test_app_role_cannot_change_or_delete_a_posted_entry(committed, app, owner_sql, case, sql):
    refused(app, owner_sql, sql, committed.params, sqlstate=INTEGRITY, constraint="ledger_posted_entry_immutable")


# --- no TRUNCATE, no writes to balances or evidence, no DDL on the rules --------------------------

PRIVILEGE_RULES = [
    ("truncate_lines", "TRUNCATE ledger_journalline CASCADE", "permission denied for table ledger_journalline"),
    ("truncate_entries", "TRUNCATE ledger_journalentry CASCADE", "permission denied for table ledger_journalentry"),
    ("truncate_balances", "TRUNCATE ledger_balance", "permission denied for table ledger_balance"),
    ("update_balance", "UPDATE ledger_balance SET functional_debit = functional_debit + 1",
     "permission denied for table ledger_balance"),
    ("delete_balance", "DELETE FROM ledger_balance", "permission denied for table ledger_balance"),
    ("insert_balance", "INSERT INTO ledger_balance (organisation_id, entity_id, account_id, period_id, currency, "
     "amount, functional_debit, functional_credit, line_count) "
     "VALUES (%(org)s, %(entity)s, %(acc_1200)s, %(locked_period)s, 'USD', 1, 1, 0, 1)",
     "permission denied for table ledger_balance"),
    ("update_lock_snapshot", "UPDATE periods_periodlocksnapshot SET sha256 = repeat('0', 64)",
     "permission denied for table periods_periodlocksnapshot"),
    ("delete_lock_snapshot", "DELETE FROM periods_periodlocksnapshot",
     "permission denied for table periods_periodlocksnapshot"),
    ("disable_one_trigger", "ALTER TABLE ledger_journalline DISABLE TRIGGER ledger_lines_guard_update",
     "must be owner of table ledger_journalline"),
    ("disable_all_triggers", "ALTER TABLE ledger_journalentry DISABLE TRIGGER ALL",
     "must be owner of table ledger_journalentry"),
    ("drop_trigger", "DROP TRIGGER ledger_entry_guard ON ledger_journalentry",
     "must be owner of relation ledger_journalentry"),
    ("replace_rule_function",
     "CREATE OR REPLACE FUNCTION ledger_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$ "
     "BEGIN RETURN NEW; END $$", "permission denied for schema public"),
    ("replication_role_skips_triggers", "SET session_replication_role = replica",
     'permission denied to set parameter "session_replication_role"'),
    ("disable_rls", "ALTER TABLE ledger_journalline DISABLE ROW LEVEL SECURITY",
     "must be owner of table ledger_journalline"),
    ("drop_policy", "DROP POLICY tenant_isolation ON ledger_journalentry",
     "must be owner of relation ledger_journalentry"),
    ("grant_self_bypassrls", "ALTER ROLE CURRENT_USER BYPASSRLS", "must be superuser to change bypassrls attribute"),
    ("row_security_off", ["SET LOCAL row_security = off", "SELECT count(*) FROM ledger_journalline"],
     'query would be affected by row-level security policy for table "ledger_journalline"'),
]


@pytest.mark.parametrize(("case", "sql", "message"), PRIVILEGE_RULES, ids=[c[0] for c in PRIVILEGE_RULES])
def test_app_role_lacks_the_privilege(committed, app, owner_sql, case, sql, message):
    refused(app, owner_sql, sql, committed.params, sqlstate=INSUFFICIENT_PRIVILEGE, message=message)


@pytest.fixture(params=["app_sql", "app"], ids=["web_role", "jobs_role"])
def each_role(request):
    """The web role's and the jobs role's raw sessions: neither may become or act as the owner."""
    return request.getfixturevalue(request.param)


def test_app_role_cannot_become_the_owner(committed, each_role, owner_sql):
    app = each_role
    role = app.execute("SELECT session_user").fetchone()[0]
    owner = settings.OWNER_DATABASE["USER"]
    refused(app, owner_sql, f'SET ROLE "{owner}"', {}, sqlstate=INSUFFICIENT_PRIVILEGE,
            message=f'permission denied to set role "{owner}"')
    refused(app, owner_sql, f'SET SESSION AUTHORIZATION "{owner}"', {}, sqlstate=INSUFFICIENT_PRIVILEGE,
            message="permission denied to set session authorization")
    assert app.execute("SELECT current_user, session_user").fetchone() == (role, role)
    assert role != owner


def test_app_role_owns_nothing_and_has_no_bypass(committed, each_role):
    app = each_role
    owned = app.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles "
                        "WHERE rolname = current_user)").fetchone()[0]
    attrs = app.execute("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                        "WHERE rolname = current_user").fetchone()
    assert (owned, attrs) == (0, (False, False, False, False))


# --- locked periods -----------------------------------------------------------------------------

DRAFT_INTO_LOCKED = """
    WITH e AS (
        INSERT INTO ledger_journalentry (organisation_id, entity_id, period_id, entry_date, description, source,
                                         status, created_at, request_hash)
        VALUES (%(org)s, %(entity)s, %(locked_period)s, '2026-02-10', 'late', 'manual', 'draft', now(), '')
        RETURNING id)
    INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id, currency,
                                    amount, rate, functional_amount, dimensions, memo, source_raw)
    SELECT %(org)s, %(entity)s, %(locked_period)s, e.id, v.n, v.acc, 'EUR', v.amt, 1, v.amt, '{}', '', ''
      FROM e, (VALUES (1, %(acc_1200)s::bigint, 5::numeric), (2, %(acc_4100)s::bigint, -5::numeric)) v(n, acc, amt)"""


def test_posting_into_a_locked_period_is_refused(committed, app, owner_sql):
    # Refused at its first step since issue #15: not even a draft is written into a locked period.
    refused(app, owner_sql, [
        DRAFT_INTO_LOCKED,
        "UPDATE ledger_journalentry SET status = 'posted', posted_at = now() "
        "WHERE entity_id = %(entity)s AND period_id = %(locked_period)s AND status = 'draft'",
    ], committed.params, sqlstate=INTEGRITY, constraint="ledger_entry_in_locked_period")


def test_inserting_posted_lines_into_a_locked_period_the_bulk_way_is_refused(committed, app, owner_sql):
    """Lines first (the entry key is checked at commit), then the entry inserted as posted."""
    line = ("INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id, "
            "currency, amount, rate, functional_amount, dimensions, memo, source_raw) VALUES (%(org)s, %(entity)s, "
            "%(locked_period)s, currval(pg_get_serial_sequence('ledger_journalentry', 'id')), {n}, {acc}, 'EUR', "
            "{amt}, 1, {amt}, '{{}}', '', '')")
    refused(app, owner_sql, [
        "SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id'))",
        line.format(n=1, acc="%(acc_1200)s", amt="7"),
        line.format(n=2, acc="%(acc_4100)s", amt="-7"),
        "INSERT INTO ledger_journalentry (id, organisation_id, entity_id, period_id, entry_date, description, source, "
        "status, created_at, posted_at, request_hash) VALUES (currval(pg_get_serial_sequence('ledger_journalentry', "
        "'id')), %(org)s, %(entity)s, %(locked_period)s, '2026-02-11', 'late bulk', 'import', 'posted', now(), "
        "now(), '')",
    ], committed.params, sqlstate=INTEGRITY, constraint="ledger_period_locked")


def test_a_posted_line_in_a_locked_period_cannot_change(committed, app, owner_sql):
    refused(app, owner_sql, "UPDATE ledger_journalline SET memo = 'x' WHERE entry_id = %(posted_feb)s",
            committed.params, sqlstate=INTEGRITY, constraint="ledger_line_entry_not_draft")


@pytest.mark.parametrize("reason", ["", "   ", LOCK_REASON], ids=["empty", "blank", "the_lock_reason_again"])
def test_reopening_a_locked_period_needs_a_new_written_reason(committed, app, owner_sql, reason):
    refused(app, owner_sql, "UPDATE periods_entityperiod SET state = 'open', reason = %(reason)s "
            "WHERE id = %(locked_ep)s", {**committed.params, "reason": reason},
            sqlstate=INTEGRITY, constraint="periods_reopen_reason_required")


# --- segregation of duties ----------------------------------------------------------------------

def test_the_preparer_cannot_be_recorded_as_approver(committed, app, owner_sql):
    assert app.execute("SELECT created_by_id FROM ledger_journalentry WHERE id = %(draft)s",
                       committed.params).fetchone()[0] == committed.params["preparer"]
    refused(app, owner_sql, "UPDATE ledger_journalentry SET approved_by_id = created_by_id, approved_at = now() "
            "WHERE id = %(draft)s", committed.params, sqlstate=CHECK_VIOLATION,
            constraint="entry_approver_not_preparer")


# --- another organisation's rows, with the tenant filter forgotten --------------------------------

TENANT_TABLES = ("ledger_journalentry", "ledger_journalline", "ledger_balance", "periods_entityperiod")


def _org_counts(conn, table: str) -> dict[int, int]:
    return dict(conn.execute(f"SELECT organisation_id, count(*) FROM {table} GROUP BY 1").fetchall())


def _scope(conn, value: str) -> None:
    conn.execute("SELECT set_config('sheshi.org_ids', %s, false)", [value])


def test_a_query_without_tenant_filter_sees_only_the_scoped_organisation(committed, app, owner_sql):
    org, other = committed.params["org"], committed.params["other_org"]
    tables = TENANT_TABLES + (("audit_event",) if committed.has_audit else ())
    _scope(app, str(org))
    for table in tables:
        everything = _org_counts(owner_sql, table)
        assert everything.get(other, 0) > 0, f"{table}: the other organisation must have rows for this to mean much"
        assert _org_counts(app, table) == {org: everything[org]}, table
    assert app.execute("SELECT count(*) FROM ledger_journalline WHERE organisation_id = %s", [other]).fetchone() \
        == (0,)


def test_with_no_scope_nothing_is_visible(committed, app):
    _scope(app, "")
    tables = TENANT_TABLES + (("audit_event",) if committed.has_audit else ())
    assert {t: app.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables} == dict.fromkeys(tables, 0)


def test_another_organisations_rows_cannot_be_changed_or_written(committed, app, owner_sql):
    _scope(app, str(committed.params["org"]))
    before = fingerprint(owner_sql)
    with app.transaction():
        updated = app.execute("UPDATE ledger_journalentry SET description = 'hijacked' WHERE id = %(other_draft)s",
                              committed.params).rowcount
        deleted = app.execute("DELETE FROM ledger_journalline WHERE entry_id = %(other_draft)s",
                              committed.params).rowcount
    assert (updated, deleted) == (0, 0)
    assert fingerprint(owner_sql) == before
    refused(app, owner_sql, """
        INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
            currency, amount, rate, functional_amount, dimensions, memo, source_raw)
        VALUES (%(other_org)s, %(other_entity)s, %(open_period)s, %(other_draft)s, 9, %(other_acc)s, 'EUR', 1, 1, 1,
                '{}', '', '')""", committed.params, sqlstate=INSUFFICIENT_PRIVILEGE,
            message='new row violates row-level security policy for table "ledger_journalline"')


# --- the audit trail (audit/, issue 5) ----------------------------------------------------------

AUDIT_RULES = [
    ("insert_event", "INSERT INTO audit_event (organisation_id, action, object_type, content_hash) "
     "VALUES (%(org)s, 'forged', 'x', repeat('0', 64))", "permission denied for table audit_event"),
    ("update_event", "UPDATE audit_event SET action = 'nothing happened'", "permission denied for table audit_event"),
    ("delete_event", "DELETE FROM audit_event", "permission denied for table audit_event"),
    ("truncate_events", "TRUNCATE audit_event", "permission denied for table audit_event"),
    ("update_chain", "UPDATE audit_chain SET hash = repeat('0', 64)", "permission denied for table audit_chain"),
    ("delete_chain", "DELETE FROM audit_chain", "permission denied for table audit_chain"),
    ("truncate_chain", "TRUNCATE audit_chain", "permission denied for table audit_chain"),
    ("move_chain_head", "UPDATE audit_chain_head SET seq = 0", "permission denied for table audit_chain_head"),
    ("disable_audit_trigger", "ALTER TABLE audit_event DISABLE TRIGGER USER", "must be owner of table audit_event"),
]


@pytest.fixture
def audit_present(committed, owner_sql):
    if not committed.has_audit:
        pytest.skip("the audit app (issue 5) has not created audit_event yet")
    assert owner_sql.execute("SELECT count(*) FROM audit_event WHERE organisation_id = %(org)s",
                             committed.params).fetchone()[0] > 0, "committed changes must have audit events"


@pytest.mark.parametrize(("case", "sql", "message"), AUDIT_RULES, ids=[c[0] for c in AUDIT_RULES])
def test_app_role_cannot_touch_the_audit_trail(audit_present, committed, app, owner_sql, case, sql, message):
    refused(app, owner_sql, sql, committed.params, sqlstate=INSUFFICIENT_PRIVILEGE, message=message)


def test_even_the_owner_cannot_rewrite_an_audit_event_while_its_trigger_is_on(audit_present, committed, owner_sql,
                                                                              django_db_blocker):
    with django_db_blocker.unblock():
        owner = psycopg.connect(owner_sql.info.dsn, autocommit=True)
    try:
        refused(owner, owner_sql, "UPDATE audit_event SET action = 'nothing happened' WHERE organisation_id = %(org)s",
                committed.params, sqlstate=INTEGRITY, constraint="audit_event_append_only")
        refused(owner, owner_sql, "DELETE FROM audit_event WHERE organisation_id = %(org)s", committed.params,
                sqlstate=INTEGRITY, constraint="audit_event_append_only")
    finally:
        owner.close()


def test_amounts_in_the_committed_world_are_what_was_posted(committed, owner_sql):
    """Guard for the fixture itself: the refusals above ran against real posted figures."""
    rows = owner_sql.execute("SELECT e.id, sum(l.functional_amount) FILTER (WHERE l.functional_amount > 0) "
                             "FROM ledger_journalentry e JOIN ledger_journalline l ON l.entry_id = e.id "
                             "WHERE e.id = ANY(%s) AND e.status = 'posted' GROUP BY e.id ORDER BY e.id",
                             [[committed.params["posted"], committed.params["posted_feb"]]]).fetchall()
    assert rows == [(committed.params["posted"], Decimal("100.0000")),
                    (committed.params["posted_feb"], Decimal("40.0000"))]
