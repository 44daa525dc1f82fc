"""Issue #14: database guarantees that hold against the application's own credentials.

Each test is an attack made as the application's role (`sheshi_app`, the role every test runs as),
reproduced from the issue. PostgreSQL must refuse it with its named rule (or, for a missing
privilege, SQLSTATE 42501), and the ledger, period and audit tables must be unchanged.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from ledger.models import Balance, JournalEntry, JournalLine
from ledger.services.entries import journal_entry_create, journal_entry_create_and_post
from periods.models import EntityPeriod, FiscalYear, Period, PeriodLockSnapshot
from periods.services.transitions import entity_period_soft_close
from sheshi.access.roles import Role
from sheshi.db.context import set_context
from tests.conftest import requires_role_split
from tests.factories import UserFactory, user_with_role
from tests.ledger.helpers import build_world
from tests.locking import lock_through
from tests.rules import raw, refused

pytestmark = [pytest.mark.django_db, requires_role_split]

MILLION = Decimal("1000000")


def denied(sql: str, params=None) -> None:
    """Assert the app role lacks the privilege for ``sql`` at all (insufficient_privilege)."""
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        raw(sql, params)
    assert exc.value.__cause__.sqlstate == "42501", exc.value


def snapshot():
    """The ledger, the calendar and its states, lock snapshots and the audit trail."""
    return (list(JournalEntry.objects.order_by("pk").values_list("pk", "status", "description", "approved_by_id")),
            list(JournalLine.objects.order_by("pk").values_list("pk", "account_id", "functional_amount")),
            list(Balance.objects.order_by("pk").values_list("pk", "functional_debit", "functional_credit")),
            list(EntityPeriod.objects.order_by("pk").values_list("pk", "state")),
            list(Period.objects.order_by("pk").values_list("pk", "start_date", "end_date")),
            list(PeriodLockSnapshot.objects.order_by("pk").values_list("pk", "sha256")),
            raw("SELECT count(*) FROM public.audit_event")[0][0])


def act_as(user) -> None:
    set_context({"sheshi.actor_id": str(user.pk), "sheshi.actor_label": f"user:{user.username}"})


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def locked_march(world):
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    ep = world.entity_period("2026-03")
    lock_through(actor=None, entity_period_id=ep.pk)
    return ep


@pytest.fixture
def temp_allowed(owner_sql):
    """Defence in depth: give the app role TEMPORARY for the test (as production must not), to show
    that pinned search paths alone defeat shadowing."""
    db = connection.settings_dict["NAME"]
    role = connection.settings_dict["USER"]
    owner_sql.execute(f'GRANT TEMPORARY ON DATABASE "{db}" TO "{role}"')
    yield
    owner_sql.execute(f'REVOKE TEMPORARY ON DATABASE "{db}" FROM "{role}"')


def drop_shadows() -> None:
    for (name,) in raw("SELECT relname FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r'"):
        raw(f'DROP TABLE pg_temp."{name}"')


def draft_in(world, period_code: str, amount: Decimal, day: date) -> int:
    """A draft entry with two lines, inserted by raw SQL as the app role."""
    period = world.period(period_code)
    entry_id = raw("""INSERT INTO ledger_journalentry (organisation_id, entity_id, period_id, entry_date, description,
                          source, status, created_at, request_hash)
                      VALUES (%s, %s, %s, %s, 'shadow', 'manual', 'draft', now(), '') RETURNING id""",
                   [world.org.pk, world.entity.pk, period.pk, day])[0][0]
    for no, (account, amt) in enumerate([("1200", amount), ("4100", -amount)], start=1):
        raw("""INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
                   currency, amount, rate, functional_amount, dimensions, memo, source_raw)
               VALUES (%s, %s, %s, %s, %s, %s, 'EUR', %s, 1, %s, '{}', '', '')""",
            [world.org.pk, world.entity.pk, period.pk, entry_id, no, world.acc(account), amt, amt])
    return entry_id


# 1. Temporary tables shadowing the guarded tables ------------------------------------------------

def test_the_app_role_cannot_create_temporary_tables(world):
    before = snapshot()
    denied("CREATE TEMP TABLE audit_event (LIKE public.audit_event INCLUDING ALL)")
    denied("CREATE TEMP TABLE periods_entityperiod AS SELECT * FROM public.periods_entityperiod")
    assert snapshot() == before


def test_shadowed_period_states_and_audit_tables_do_not_open_a_locked_period(world, locked_march, temp_allowed):
    before = snapshot()
    raw("CREATE TEMP TABLE audit_event (LIKE public.audit_event INCLUDING ALL)")
    raw("CREATE TEMP TABLE audit_pending (LIKE public.audit_pending INCLUDING ALL)")
    raw("CREATE TEMP TABLE periods_entityperiod AS SELECT * FROM public.periods_entityperiod")
    raw("UPDATE pg_temp.periods_entityperiod SET state = 'open'")
    raw("GRANT ALL ON pg_temp.audit_event, pg_temp.audit_pending, pg_temp.periods_entityperiod TO PUBLIC")
    # The attack: an entry of 1,000,000 into locked March, then posted. The first step is
    # already refused: the rules read the real period states, whatever the session shadows.
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        draft_in(world, "2026-03", MILLION, date(2026, 3, 20))
    assert exc.value.__cause__.diag.constraint_name == "ledger_entry_in_locked_period"
    drop_shadows()  # the ORM resolves names through the session's search path too
    assert snapshot() == before
    assert EntityPeriod.objects.get(pk=locked_march.pk).state == "locked"


def test_shadowed_audit_tables_do_not_swallow_the_events_of_a_change(world, temp_allowed):
    draft = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    raw("CREATE TEMP TABLE audit_event (LIKE public.audit_event INCLUDING ALL)")
    raw("CREATE TEMP TABLE audit_pending (LIKE public.audit_pending INCLUDING ALL)")
    mark = raw("SELECT max(id) FROM public.audit_event")[0][0]
    raw("UPDATE ledger_journalentry SET description = 'quietly' WHERE id = %s", [draft.pk])
    assert raw("SELECT count(*) FROM pg_temp.audit_event")[0][0] == 0
    assert raw("SELECT object_type, action FROM public.audit_event WHERE id > %s", [mark]) == [
        ("ledger.journalentry", "update")]


def test_a_shadowed_entry_status_does_not_unlock_a_posted_line(world, temp_allowed):
    posted = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100")).entry
    before = snapshot()
    raw("CREATE TEMP TABLE ledger_journalentry AS SELECT * FROM public.ledger_journalentry")
    raw("UPDATE pg_temp.ledger_journalentry SET status = 'draft'")
    refused("ledger_line_entry_not_draft",
            "UPDATE public.ledger_journalline SET functional_amount = functional_amount * 2, amount = amount * 2 "
            "WHERE entry_id = %s", [posted.pk])
    drop_shadows()
    assert snapshot() == before


def test_shadowed_lines_do_not_let_an_unbalanced_entry_post(world, temp_allowed):
    entry_id = draft_in(world, "2026-04", Decimal("10"), date(2026, 4, 2))
    raw("CREATE TEMP TABLE ledger_journalline AS SELECT * FROM public.ledger_journalline")
    raw("UPDATE public.ledger_journalline SET amount = %s, functional_amount = %s WHERE entry_id = %s AND line_no = 1",
        [MILLION, MILLION, entry_id])
    refused("ledger_entry_unbalanced", "UPDATE ledger_journalentry SET status = 'posted', posted_at = now() "
            "WHERE id = %s", [entry_id])
    drop_shadows()
    assert JournalEntry.objects.get(pk=entry_id).status == "draft"
    assert not Balance.objects.filter(entity_id=world.entity.pk).exists()


# 2. Lock snapshots -----------------------------------------------------------------------------------

def test_the_app_role_cannot_write_a_lock_snapshot(world, locked_march):
    before = snapshot()
    denied("""INSERT INTO periods_periodlocksnapshot (organisation_id, entity_period_id, taken_at, trial_balance,
                  line_count, sha256)
              VALUES (%s, %s, now(), '[]', 0, repeat('0', 64))""", [world.org.pk, locked_march.pk])
    assert snapshot() == before


def test_the_database_takes_the_snapshot_in_the_locking_statement(world, locked_march):
    snaps = PeriodLockSnapshot.objects.filter(entity_period=locked_march)
    assert snaps.count() == 1
    assert snaps.get().line_count == 2
    assert [row[0] for row in snaps.get().trial_balance] == ["1200", "4100"]


# 3. Period dates ---------------------------------------------------------------------------------------

def test_a_period_cannot_move_its_dates(world, locked_march):
    entry_id = draft_in(world, "2026-04", Decimal("5"), date(2026, 4, 2))
    before = snapshot()
    refused("periods_calendar_fixed", "UPDATE periods_period SET start_date = '2026-03-25' WHERE id = %s",
            [world.period("2026-04").pk])
    refused("periods_calendar_fixed", "UPDATE periods_period SET end_date = '2026-03-20' WHERE id = %s",
            [world.period("2026-03").pk])
    refused("periods_calendar_fixed",
            "UPDATE periods_fiscalyear SET start_date = '2025-12-01' WHERE organisation_id = %s", [world.org.pk])
    assert snapshot() == before and JournalEntry.objects.get(pk=entry_id).status == "draft"
    assert FiscalYear.objects.get(organisation=world.org).start_date == date(2026, 1, 1)


def test_an_entity_period_cannot_be_inserted_already_locked(world):
    other_org_period = world.period("2026-05")
    raw("DELETE FROM periods_entityperiod WHERE entity_id = %s AND period_id = %s",
        [world.other.pk, other_org_period.pk])
    refused("periods_state_transition_invalid",
            "INSERT INTO periods_entityperiod (organisation_id, entity_id, period_id, state, reason) "
            "VALUES (%s, %s, %s, 'locked', '')", [world.org.pk, world.other.pk, other_org_period.pk])


# 5. Entity and account identity -------------------------------------------------------------------------

def test_an_entity_cannot_move_to_another_organisation(world):
    elsewhere = build_world("ELSE")
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    before = snapshot()
    refused("tenancy_entity_organisation_fixed", "UPDATE tenancy_entity SET organisation_id = %s WHERE id = %s",
            [elsewhere.org.pk, world.entity.pk])
    assert snapshot() == before


def test_functional_currency_is_fixed_once_the_entity_has_entries(world):
    raw("UPDATE tenancy_entity SET functional_currency = 'CHF' WHERE id = %s", [world.other.pk])  # no entries: fine
    journal_entry_create(actor=None, entity=world.entity, entry=world.sale("1"))
    refused("ledger_entity_currency_fixed", "UPDATE tenancy_entity SET functional_currency = 'USD' WHERE id = %s",
            [world.entity.pk])


def test_an_account_used_in_a_locked_period_keeps_its_code_and_type(world, locked_march):
    before = snapshot()
    refused("ledger_account_identity_fixed", "UPDATE ledger_account SET code = '1299' WHERE id = %s",
            [world.acc("1200")])
    refused("ledger_account_identity_fixed", "UPDATE ledger_account SET type = 'expense' WHERE id = %s",
            [world.acc("4100")])
    raw("UPDATE ledger_account SET name = 'Trade receivables' WHERE id = %s", [world.acc("1200")])  # a label
    raw("UPDATE ledger_account SET code = '5199' WHERE id = %s", [world.acc("5100")])  # never used
    assert snapshot()[:-1] == before[:-1]  # the two allowed changes are audited


# 6. Context the database no longer takes on trust ------------------------------------------------------

def test_the_close_flag_alone_does_not_post_into_a_soft_closed_period(world):
    preparer = user_with_role(world.entity, Role.PREPARER)
    entry_id = draft_in(world, "2026-04", Decimal("7"), date(2026, 4, 3))
    entity_period_soft_close(actor=None, entity_period_id=world.entity_period("2026-04").pk, force=True,
                             reason="draft left to attack")  # a draft open: soft-closing needs force (#15.5)
    act_as(preparer)
    raw("SELECT set_config('sheshi.close_privilege', 'on', false)")
    before = snapshot()
    refused("ledger_period_soft_closed", "UPDATE ledger_journalentry SET status = 'posted', posted_at = now(), "
            "posted_by_id = %s WHERE id = %s", [preparer.pk, entry_id])
    assert snapshot() == before


def test_the_recorded_approver_must_be_the_acting_user(world):
    preparer = user_with_role(world.entity, Role.PREPARER)
    approver = user_with_role(world.entity, Role.APPROVER)
    draft = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("8")).entry
    act_as(preparer)
    before = snapshot()
    refused("ledger_approver_not_actor", "UPDATE ledger_journalentry SET status = 'submitted', approved_by_id = %s "
            "WHERE id = %s", [approver.pk, draft.pk])
    assert snapshot() == before
    act_as(approver)  # the approver, acting, may record themselves
    raw("UPDATE ledger_journalentry SET status = 'submitted' WHERE id = %s", [draft.pk])
    raw("UPDATE ledger_journalentry SET status = 'approved', approved_by_id = %s WHERE id = %s",
        [approver.pk, draft.pk])


def test_reopening_a_locked_period_needs_the_reopen_grant_not_just_a_reason(world, locked_march):
    preparer = user_with_role(world.entity, Role.PREPARER)
    act_as(preparer)
    before = snapshot()
    refused("periods_move_not_permitted", "UPDATE periods_entityperiod SET state = 'open', reason = 'typo fix', "
            "changed_by_id = %s WHERE id = %s", [preparer.pk, locked_march.pk])
    assert snapshot() == before


def test_a_period_move_cannot_name_someone_else_as_its_author(world):
    controller = user_with_role(world.entity, Role.CONTROLLER)
    other = user_with_role(world.entity, Role.CONTROLLER)
    act_as(controller)
    refused("periods_move_not_permitted", "UPDATE periods_entityperiod SET state = 'soft_closed', changed_by_id = %s "
            "WHERE id = %s", [other.pk, world.entity_period("2026-05").pk])


def test_permission_rows_cannot_reach_across_organisations_or_come_from_a_non_manager(world):
    """The app role may not write permission rows at all; the entry point that may refuses the same
    grants by name (tests/security/test_definer_entry_points.py)."""
    elsewhere = build_world("FOREIGN")
    outsider = UserFactory()  # a member of no organisation of world
    perm = raw("SELECT id FROM auth_permission WHERE codename = 'close_periods'")[0][0]
    grant = ("INSERT INTO tenancy_entityuserobjectpermission (permission_id, user_id, content_object_id) "
             "VALUES (%s, %s, %s)")
    via_entry_point = "SELECT tenancy_entity_permission_grant(%s, ARRAY['close_periods'], %s, NULL)"
    preparer = user_with_role(world.entity, Role.PREPARER)
    before = snapshot()
    denied(grant, [perm, outsider.pk, world.entity.pk])
    refused("tenancy_permission_grant_refused", via_entry_point, [world.entity.pk, outsider.pk])
    act_as(preparer)  # a preparer granting himself close rights
    denied(grant, [perm, preparer.pk, world.entity.pk])
    refused("tenancy_permission_grant_refused", via_entry_point, [world.entity.pk, preparer.pk])
    refused("tenancy_permission_grant_refused", via_entry_point, [elsewhere.entity.pk, preparer.pk])
    assert snapshot() == before
    assert not preparer.has_perm("tenancy.close_periods", world.entity)


def test_history_rows_cannot_be_back_dated_or_name_another_user(world):
    """History tables are not writable by the app role; through the entry point a back-dated row or
    one naming another user is refused (tests/security/test_definer_entry_points.py)."""
    preparer = user_with_role(world.entity, Role.PREPARER)
    victim = user_with_role(world.entity, Role.CONTROLLER)
    account = world.accounts["1200"]
    insert = """INSERT INTO ledger_historicalaccount (id, request_id, code, name, kind, type, normal_balance,
                    is_intercompany, role, is_active, created_at, updated_at, history_date, history_change_reason,
                    history_type, history_user_id, organisation_id)
                VALUES (%s, '', '1200', 'forged', 'posting', 'asset', 'debit', false, '', true, now(), now(), %s,
                        'forged', '~', %s, %s)"""
    via_entry_point = """SELECT sheshi_history_append('ledger_historicalaccount', jsonb_build_array(jsonb_build_object(
                             'id', %s, 'request_id', '', 'code', '1200', 'name', 'forged', 'kind', 'posting',
                             'type', 'asset', 'normal_balance', 'debit', 'is_intercompany', false, 'role', '',
                             'is_active', true, 'created_at', now(), 'updated_at', now(),
                             'history_date', %s::timestamptz,
                             'history_change_reason', 'forged', 'history_type', '~', 'history_user_id', %s,
                             'organisation_id', %s)))"""
    act_as(preparer)
    count = raw("SELECT count(*) FROM ledger_historicalaccount")[0][0]
    for when, who in (("2026-01-15T10:00:00Z", preparer.pk), ("now", victim.pk)):
        denied(insert, [account.pk, when, who, world.org.pk])
        refused("sheshi_history_row_forged", via_entry_point, [account.pk, when, who, world.org.pk])
    assert raw("SELECT count(*) FROM ledger_historicalaccount")[0][0] == count


# 4. Governed tables in the trail -----------------------------------------------------------------------

def test_user_accounts_are_in_the_trail_with_the_password_hash_redacted(world):
    user = UserFactory()
    mark = raw("SELECT coalesce(max(id), 0) FROM audit_event")[0][0]
    raw("UPDATE auth_user SET last_login = now() WHERE id = %s", [user.pk])  # a login: not an event
    raw("UPDATE auth_user SET is_superuser = true, password = 'pbkdf2$forged' WHERE id = %s", [user.pk])
    got = raw("SELECT organisation_id, object_type, action, changes FROM audit_event WHERE id > %s ORDER BY id",
              [mark])
    assert len(got) == 1
    org, object_type, action, changes = got[0]
    changes = json.loads(changes) if isinstance(changes, str) else changes
    assert (org, object_type, action) == (0, "auth.user", "update")
    assert changes["after"] == {"is_superuser": True, "password": "[redacted]"}
    assert changes["before"]["is_superuser"] is False and changes["before"]["password"] == "[redacted]"


def test_api_tokens_and_bank_details_are_in_the_trail(world):
    from sheshi.security.models import EntityBankDetails

    user = UserFactory()
    mark = raw("SELECT coalesce(max(id), 0) FROM audit_event")[0][0]
    raw("""INSERT INTO access_apitoken (user_id, name, prefix, key_hash, scopes, created_at, expires_at)
           VALUES (%s, 'ci', 'shs_abcdefgh', repeat('a', 64), '["read"]', now(), now() + interval '1 day')""",
        [user.pk])
    raw("UPDATE access_apitoken SET last_used_at = now() WHERE user_id = %s", [user.pk])  # use: not an event
    EntityBankDetails.objects.create(organisation=world.org, entity=world.entity, iban="DE89370400440532013000")
    got = raw("SELECT object_type, action FROM audit_event WHERE id > %s ORDER BY id", [mark])
    assert got == [("access.apitoken", "insert"), ("security.entitybankdetails", "insert")]
