"""Issue #14: permission, membership, group and history tables are written only through the owner's
SECURITY DEFINER entry points (sheshi/tenancy/sql/0007_entry_points.sql).

As the web application's role and as the jobs role the suite runs as, a direct INSERT, UPDATE or
DELETE on these tables is refused for want of the privilege (42501) and the tables are unchanged;
the entry points refuse what the guard triggers refused (a grant by a non-manager or across
organisations, a back-dated history row or one naming another user), and the services that write
these rows (role grants through the API, memberships, history of an edited draft, bulk posting)
still do.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, transaction
from django.utils import timezone

from ledger.models import JournalEntry
from ledger.services.bulk import journal_entries_post_bulk
from ledger.services.entries import journal_entry_create, journal_entry_update
from sheshi.access.roles import Role
from sheshi.access.services.memberships import membership_remove, membership_set, user_groups_set
from sheshi.db.context import current_context, set_context
from sheshi.tenancy.models import Membership
from tests.conditional import post_if_match
from tests.conftest import requires_role_split
from tests.factories import UserFactory, member, user_with_role
from tests.ledger.helpers import build_world
from tests.rules import raw, refused

pytestmark = [pytest.mark.django_db, requires_role_split]

PERMISSION_TABLES = ("tenancy_entityuserobjectpermission", "tenancy_entitygroupobjectpermission")


def act_as(user, *orgs) -> None:
    values = {"sheshi.actor_id": str(user.pk), "sheshi.actor_label": f"user:{user.username}"}
    if orgs:
        values["sheshi.org_ids"] = ",".join(str(o.pk) for o in orgs)
    set_context(values)


def snapshot():
    """Every permission, membership and group row, and the size of every history table (read in the
    system's scope whatever the test's session is acting as)."""
    previous = current_context()
    set_context({"sheshi.org_ids": "*", "sheshi.actor_id": "", "sheshi.actor_label": "system:tests"})
    try:
        return _snapshot()
    finally:
        set_context(previous)


def _snapshot():
    history = [t for (t,) in raw("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                 "AND tablename LIKE %s ORDER BY 1", ["%\\_historical%"])]
    return ([raw(f"SELECT * FROM {t} ORDER BY id") for t in PERMISSION_TABLES],  # nosec B608
            raw("SELECT id, organisation_id, user_id, is_org_admin, is_active FROM tenancy_membership ORDER BY id"),
            raw("SELECT user_id, group_id FROM auth_user_groups ORDER BY 1, 2"),
            {t: raw(f"SELECT count(*), max(history_id) FROM {t}")[0] for t in history})  # nosec B608


def denied(sql: str, params=None) -> None:
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        raw(sql, params)
    assert exc.value.__cause__.sqlstate == "42501", exc.value


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def admin(world):
    """An administrator of the organisation (holding the org_admin role on the entity, to see it)."""
    user = user_with_role(world.entity, Role.ORG_ADMIN)
    member(user, world.org, org_admin=True)
    return user


def _statements(world, user, perm_id):
    e = world.entity.pk
    return [
        ("INSERT INTO tenancy_entityuserobjectpermission (permission_id, user_id, content_object_id) "
         "VALUES (%s, %s, %s)", [perm_id, user.pk, e]),
        ("UPDATE tenancy_entityuserobjectpermission SET permission_id = %s", [perm_id]),
        ("DELETE FROM tenancy_entityuserobjectpermission", None),
        ("INSERT INTO tenancy_entitygroupobjectpermission (permission_id, group_id, content_object_id) "
         "VALUES (%s, 1, %s)", [perm_id, e]),
        ("DELETE FROM tenancy_entitygroupobjectpermission", None),
        ("INSERT INTO tenancy_membership (organisation_id, user_id, is_org_admin, is_active, created_at) "
         "VALUES (%s, %s, true, true, now())", [world.org.pk, user.pk]),
        ("UPDATE tenancy_membership SET is_org_admin = true", None),
        ("DELETE FROM tenancy_membership", None),
        ("INSERT INTO auth_user_groups (user_id, group_id) VALUES (%s, 1)", [user.pk]),
        ("DELETE FROM auth_user_groups", None),
        ("INSERT INTO tenancy_historicalmembership (id, organisation_id, user_id, is_org_admin, is_active, created_at, "
         "history_date, history_type, history_change_reason, request_id) "
         "VALUES (1, %s, %s, true, true, now(), now(), '+', NULL, '')", [world.org.pk, user.pk]),
        ("INSERT INTO ledger_historicaljournalentry (id, organisation_id, entity_id, period_id, entry_date, "
         "description, reference, source, status, created_at, request_hash, history_date, history_type, request_id) "
         "SELECT id, organisation_id, entity_id, period_id, entry_date, description, reference, source, 'posted', "
         "created_at, '', now(), '~', '' FROM ledger_journalentry", None),
        ("UPDATE ledger_historicalaccount SET name = 'rewritten'", None),
        ("DELETE FROM ledger_historicalaccount", None),
    ]


def test_the_jobs_role_cannot_write_permission_membership_group_or_history_tables(world, admin):
    preparer = user_with_role(world.entity, Role.PREPARER)
    Group.objects.create(pk=1, name="escalation")
    journal_entry_create(actor=None, entity=world.entity, entry=world.sale("5"))
    perm_id = raw("SELECT id FROM auth_permission WHERE codename = 'close_periods'")[0][0]
    before = snapshot()
    assert before[1] and before[0][0]  # there is something to change
    for sql, params in _statements(world, preparer, perm_id):
        denied(sql, params)
    assert snapshot() == before


def test_the_web_role_cannot_write_them_either(world, admin, app_sql):
    preparer = user_with_role(world.entity, Role.PREPARER)
    perm_id = raw("SELECT id FROM auth_permission WHERE codename = 'close_periods'")[0][0]
    before = snapshot()
    for sql, params in _statements(world, preparer, perm_id):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_sql.execute(sql, params)
    assert snapshot() == before


# Per-entity permissions ----------------------------------------------------------------------------

def grant(entity, codenames, user) -> None:
    raw("SELECT tenancy_entity_permission_grant(%s, %s, %s, NULL)", [entity.pk, codenames, user.pk])


def test_a_grant_through_the_entry_point_needs_a_role_manager(world, admin):
    preparer = user_with_role(world.entity, Role.PREPARER)
    victim = user_with_role(world.entity, Role.CONTROLLER)
    act_as(preparer, world.org)
    before = snapshot()
    refused("tenancy_permission_grant_refused", "SELECT tenancy_entity_permission_grant(%s, %s, %s, NULL)",
            [world.entity.pk, ["close_periods"], preparer.pk])  # himself
    refused("tenancy_permission_grant_refused", "SELECT tenancy_entity_permission_revoke(%s, %s, %s, NULL)",
            [world.entity.pk, ["close_periods"], victim.pk])  # someone else's
    refused("tenancy_permission_grant_refused", "SELECT tenancy_entity_permission_grant(%s, %s, NULL, 1)",
            [world.entity.pk, ["close_periods"]])  # a group
    assert snapshot() == before
    act_as(admin, world.org)  # an administrator of the organisation may
    grant(world.entity, ["close_periods"], preparer)
    assert preparer.has_perm("tenancy.close_periods", world.entity)


def test_a_grant_through_the_entry_point_cannot_reach_another_organisation(world, admin):
    elsewhere = build_world("FOREIGN")
    outsider = UserFactory()
    foreign_member = user_with_role(elsewhere.entity, Role.VIEWER)
    act_as(admin, world.org)
    before = snapshot()
    refused("tenancy_permission_grant_refused", "SELECT tenancy_entity_permission_grant(%s, %s, %s, NULL)",
            [world.entity.pk, ["view_entity_data"], outsider.pk])  # not a member
    refused("tenancy_permission_grant_refused", "SELECT tenancy_entity_permission_grant(%s, %s, %s, NULL)",
            [world.entity.pk, ["view_entity_data"], foreign_member.pk])  # another organisation's member
    refused("tenancy_permission_grant_refused", "SELECT tenancy_entity_permission_grant(%s, %s, %s, NULL)",
            [elsewhere.entity.pk, ["view_entity_data"], foreign_member.pk])  # another organisation's entity
    act_as(admin, world.org, elsewhere.org)  # even with the other organisation in the session's scope
    refused("tenancy_permission_grant_refused", "SELECT tenancy_entity_permission_grant(%s, %s, %s, NULL)",
            [elsewhere.entity.pk, ["view_entity_data"], foreign_member.pk])
    assert snapshot() == before


def test_role_grants_and_revocations_through_the_api_still_work(client, world, admin):
    viewer = UserFactory()
    member(viewer, world.org)
    client.force_login(admin)
    url = f"/api/v1/entities/{world.entity.pk}/"
    resp = post_if_match(client, f"{url}grant-role/", {"user": viewer.username, "role": "controller"},
                         content_type="application/json")
    assert resp.status_code == 200, resp.content
    assert viewer.has_perm("tenancy.close_periods", world.entity)
    resp = post_if_match(client, f"{url}revoke-role/", {"user": viewer.username, "role": "controller"},
                         content_type="application/json")
    assert resp.status_code == 200, resp.content
    assert not viewer.has_perm("tenancy.close_periods", world.entity)
    denied("INSERT INTO tenancy_entityuserobjectpermission (permission_id, user_id, content_object_id) "
           "SELECT id, %s, %s FROM auth_permission WHERE codename = 'close_periods'", [viewer.pk, world.entity.pk])


# Memberships and groups ------------------------------------------------------------------------------

def test_only_an_administrator_changes_the_members(world, admin):
    elsewhere = build_world("FOREIGN")
    foreign_admin = UserFactory()
    member(foreign_admin, elsewhere.org, org_admin=True)
    preparer = user_with_role(world.entity, Role.PREPARER)
    newcomer = UserFactory()
    before = snapshot()
    act_as(preparer, world.org)
    refused("tenancy_membership_change_refused", "SELECT tenancy_membership_set(%s, %s, true, true)",
            [world.org.pk, preparer.pk])  # promoting himself
    refused("tenancy_membership_change_refused", "SELECT tenancy_membership_remove(%s, %s)",
            [world.org.pk, admin.pk])
    act_as(foreign_admin, world.org, elsewhere.org)  # an administrator of another organisation
    refused("tenancy_membership_change_refused", "SELECT tenancy_membership_set(%s, %s, false, true)",
            [world.org.pk, newcomer.pk])
    act_as(admin, elsewhere.org)  # the organisation outside the session's scope
    refused("tenancy_membership_change_refused", "SELECT tenancy_membership_set(%s, %s, false, true)",
            [world.org.pk, newcomer.pk])
    assert snapshot() == before


def test_membership_services_write_the_membership_and_its_history(world, admin):
    newcomer = UserFactory()
    act_as(admin, world.org)
    membership = membership_set(actor=admin, user=newcomer, organisation=world.org)
    membership_set(actor=admin, user=newcomer, organisation=world.org, is_org_admin=True)
    grant(world.entity, ["view_entity_data"], newcomer)
    membership_remove(actor=admin, user=newcomer, organisation=world.org)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert not raw("SELECT 1 FROM tenancy_entityuserobjectpermission WHERE user_id = %s", [newcomer.pk])
    got = list(Membership.history.filter(id=membership.pk).order_by("history_id")
               .values_list("history_type", "is_org_admin", "history_user_id"))
    assert got == [("+", False, admin.pk), ("~", True, admin.pk), ("-", True, admin.pk)]


def test_only_the_system_or_a_superuser_puts_a_user_in_a_group(world, admin):
    group = Group.objects.create(name="granted on entities")
    raw("SELECT tenancy_entity_permission_grant(%s, %s, NULL, %s)", [world.entity.pk, ["close_periods"], group.pk])
    preparer = user_with_role(world.entity, Role.PREPARER)
    act_as(admin, world.org)  # an organisation administrator is not enough: groups span organisations
    before = snapshot()
    refused("sheshi_group_change_refused", "SELECT sheshi_user_groups_set(%s, %s)", [preparer.pk, [group.pk]])
    assert snapshot() == before and not preparer.has_perm("tenancy.close_periods", world.entity)
    set_context({"sheshi.actor_id": "", "sheshi.actor_label": "system:tests", "sheshi.org_ids": "*"})
    user_groups_set(actor=None, user=preparer, groups=[group])
    assert preparer.has_perm("tenancy.close_periods", world.entity)


# History ----------------------------------------------------------------------------------------------

def _account_history_row(world, account, user_id, when) -> dict:
    return {"id": account.pk, "organisation_id": world.org.pk, "code": account.code, "name": "forged",
            "kind": "posting", "type": "asset", "normal_balance": "debit", "is_intercompany": False, "role": "",
            "is_active": True, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "history_date": when, "history_change_reason": "forged", "history_type": "~",
            "history_user_id": user_id, "request_id": ""}


def test_history_through_the_entry_point_is_dated_now_and_names_the_acting_user(world):
    import json

    preparer = user_with_role(world.entity, Role.PREPARER)
    victim = user_with_role(world.entity, Role.CONTROLLER)
    elsewhere = build_world("FOREIGN")
    account = world.accounts["1200"]
    posted = journal_entry_create(actor=None, entity=elsewhere.entity, entry=elsewhere.sale("3")).entry
    mine = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("3")).entry
    append = "SELECT sheshi_history_append(%s, %s::jsonb)"
    act_as(preparer, world.org)
    before = snapshot()
    refused("sheshi_history_row_forged", append, ["ledger_historicalaccount", json.dumps(
        [_account_history_row(world, account, preparer.pk, "2026-01-15T10:00:00Z")])])  # back-dated
    refused("sheshi_history_row_forged", append, ["ledger_historicalaccount", json.dumps(
        [_account_history_row(world, account, victim.pk, timezone.now().isoformat())])])  # another user
    foreign = _account_history_row(world, account, preparer.pk, timezone.now().isoformat())
    foreign["organisation_id"] = elsewhere.org.pk
    refused("sheshi_history_row_forged", append, ["ledger_historicalaccount", json.dumps([foreign])])
    refused("sheshi_history_table_unknown", append, ["ledger_account", "[]"])  # not a history table
    refused("sheshi_history_table_unknown", append, ["tenancy_membership", "[]"])
    refused("sheshi_history_row_forged", "SELECT sheshi_history_record('ledger_historicaljournalentry', %s, '+', "
            "%s, 'x')", [[mine.pk], victim.pk])
    assert raw("SELECT sheshi_history_record('ledger_historicaljournalentry', %s, '+', %s, 'x')",
               [[posted.pk], preparer.pk]) == [(0,)]  # another organisation's entry: nothing recorded
    assert snapshot() == before
    got = raw(append, ["ledger_historicalaccount", json.dumps(
        [_account_history_row(world, account, preparer.pk, timezone.now().isoformat())])])
    assert len(got) == 1


def test_editing_a_draft_writes_its_history_through_the_entry_point(world):
    preparer = user_with_role(world.entity, Role.PREPARER)
    act_as(preparer, world.org)
    draft = journal_entry_create(actor=preparer, entity=world.entity, entry=world.sale("30")).entry
    journal_entry_update(actor=preparer, entry_id=draft.pk, entry=world.sale("40"))
    rows = list(JournalEntry.history.filter(id=draft.pk).order_by("history_id")
                .values_list("history_type", "description", "history_user_id"))
    # The create names no user (as before: the service sets none), the edit its author.
    assert rows == [("+", "Sale 30", None), ("~", "Sale 40", preparer.pk)]
    denied("INSERT INTO ledger_historicaljournalentry (id, organisation_id, entity_id, period_id, entry_date, "
           "description, reference, source, status, created_at, request_hash, history_date, history_type, request_id) "
           "SELECT id, organisation_id, entity_id, period_id, entry_date, 'forged', reference, source, status, "
           "created_at, '', now(), '~', '' FROM ledger_journalentry WHERE id = %s", [draft.pk])


def test_bulk_posting_records_each_entry_once_as_posted(world):
    from ledger.inputs import EntryInput, LineInput

    entries = [EntryInput(entry_date=date(2026, 4, d), description=f"bulk {d}", lines=[
        LineInput(account_id=world.acc("1200"), amount=Decimal(d)),
        LineInput(account_id=world.acc("4100"), amount=-Decimal(d))]) for d in range(1, 4)]
    result = journal_entries_post_bulk(actor=None, entity=world.entity, entries=entries)
    ids = list(JournalEntry.objects.filter(pk__gte=result.first_entry_id, pk__lte=result.last_entry_id)
               .values_list("pk", flat=True))
    assert len(ids) == 3
    rows = list(JournalEntry.history.filter(id__in=ids).order_by("id")
                .values_list("id", "history_type", "status", "history_change_reason"))
    assert rows == [(pk, "+", "posted", "bulk posting") for pk in sorted(ids)]


def test_a_superuser_sets_a_users_groups_in_the_admin_through_the_entry_point(client, world):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    user = UserFactory()
    readers, controllers = Group.objects.create(name="readers"), Group.objects.create(name="controllers")
    user_groups_set(actor=None, user=user, groups=[readers])
    client.force_login(superuser)
    form = {"username": user.username, "email": user.email, "first_name": "", "last_name": "", "is_active": "on",
            "groups": [controllers.pk], "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01", "initial-date_joined_1": "00:00:00"}
    resp = client.post(f"/admin/auth/user/{user.pk}/change/", form)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    assert list(user.groups.values_list("name", flat=True)) == ["controllers"]


# The superuser flag ------------------------------------------------------------------------------------

def test_only_the_system_or_an_acting_superuser_makes_a_superuser(world, admin):
    """sheshi_actor_may trusts is_superuser: setting it is a grant of everything, so the database
    checks it like every other grant (a session acting as an organisation administrator is refused)."""
    act_as(admin, world.org)
    refused("sheshi_superuser_change_refused", "UPDATE auth_user SET is_superuser = true WHERE id = %s", [admin.pk])
    refused("sheshi_superuser_change_refused",
            "INSERT INTO auth_user (username, password, is_superuser, is_staff, is_active, first_name, last_name, "
            "email, date_joined) VALUES ('mallory', '!', true, true, true, '', '', '', now())")
    assert raw("SELECT count(*) FROM auth_user WHERE is_superuser") == [(0,)]
    raw("UPDATE auth_user SET last_login = now() WHERE id = %s", [admin.pk])  # other columns stay writable

    set_context({"sheshi.actor_id": "", "sheshi.actor_label": "system:tests", "sheshi.org_ids": "*"})
    root = UserFactory(username="root-by-system", is_staff=True, is_superuser=True)  # e.g. createsuperuser
    act_as(root, world.org)
    raw("UPDATE auth_user SET is_superuser = true WHERE id = %s", [admin.pk])
    act_as(admin, world.org)  # now a superuser acting: may take it back from someone else
    raw("UPDATE auth_user SET is_superuser = false WHERE id = %s", [root.pk])
    assert raw("SELECT username FROM auth_user WHERE is_superuser") == [(admin.username,)]
