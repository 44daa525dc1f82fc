"""Application-level events: role changes, logins, financial reads — same log, same rules."""
import pytest
from django.contrib.auth import authenticate
from django.db import DatabaseError, transaction
from django.test import RequestFactory

from audit.models import ORG_PLATFORM, AuditEvent
from audit.services.events import audit_event_record, audit_read
from sheshi.access.roles import Role
from sheshi.access.services.grants import role_grant, role_revoke
from sheshi.db.context import db_context
from sheshi.errors import from_db_error
from tests.factories import EntityFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def _events(**filters) -> list[tuple]:
    return list(AuditEvent.objects.filter(**filters).order_by("id")
                .values_list("organisation_id", "action", "object_type", "object_id", "actor_label"))


def test_role_grant_and_revoke_record_role_events_beside_the_permission_rows():
    entity = EntityFactory()
    user = UserFactory(username="granted")
    member(user, entity.organisation)
    start = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    role_grant(actor=None, user=user, entity=entity, role=Role.PREPARER)
    role_revoke(actor=None, user=user, entity=entity, role=Role.PREPARER)
    org, eid = entity.organisation_id, str(entity.pk)
    got = _events(id__gt=start)
    perm_type = "tenancy.entityuserobjectpermission"
    assert got == [(org, "insert", perm_type, got[0][3], "system:tests"),
                   (org, "insert", perm_type, got[1][3], "system:tests"),
                   (org, "role.granted", "tenancy.entity", eid, "system:tests"),
                   (org, "delete", perm_type, got[0][3], "system:tests"),
                   (org, "delete", perm_type, got[1][3], "system:tests"),
                   (org, "role.revoked", "tenancy.entity", eid, "system:tests")]
    granted = AuditEvent.objects.get(action="role.granted")
    assert granted.changes == {"user_id": user.pk, "username": "granted", "role": "preparer",
                               "permissions": ["tenancy.view_entity_data", "tenancy.prepare_entries"]}


def test_event_with_no_actor_is_refused_and_nothing_is_recorded():
    entity = EntityFactory()
    before = AuditEvent.objects.count()
    with db_context(actor_id=None, actor_label=""), pytest.raises(DatabaseError) as exc, transaction.atomic():
        audit_event_record(organisation_id=entity.organisation_id, action="export.created", object_type="x")
    assert from_db_error(exc.value).code == "actor_required"
    assert AuditEvent.objects.count() == before


def test_event_for_an_organisation_outside_the_scope_is_refused():
    mine, other = EntityFactory(), EntityFactory()
    before = AuditEvent.objects.count()
    with db_context(org_ids=[mine.organisation_id]), pytest.raises(DatabaseError) as exc, transaction.atomic():
        audit_event_record(organisation_id=other.organisation_id, action="report.read", object_type="x")
    assert from_db_error(exc.value).code == "not_found"
    assert AuditEvent.objects.count() == before
    with db_context(org_ids=[mine.organisation_id]):
        audit_event_record(organisation_id=mine.organisation_id, action="report.read", object_type="x")
    assert AuditEvent.objects.count() == before + 1


def test_event_rolls_back_with_the_transaction_it_belongs_to():
    entity = EntityFactory()
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_event_record(organisation_id=entity.organisation_id, action="export.created", object_type="x")
        raise RuntimeError("the change failed")
    assert AuditEvent.objects.count() == before


def test_audit_read_records_who_read_what_with_the_query():
    entity = EntityFactory()
    request = RequestFactory().get("/api/v1/reports/trial-balance", {"period": "2025-01", "entity": "3"})
    event_id = audit_read(request, organisation_id=entity.organisation_id, object_type="report.trial_balance",
                          object_id=entity.pk)
    event = AuditEvent.objects.get(pk=event_id)
    assert (event.action, event.object_type, event.object_id, event.actor_label) == (
        "report.read", "report.trial_balance", str(entity.pk), "system:tests")
    assert event.changes == {"path": "/api/v1/reports/trial-balance", "params": {"period": "2025-01", "entity": "3"}}


def test_login_success_is_recorded_in_each_of_the_users_organisations(client):
    a, b = EntityFactory(), EntityFactory()
    user = UserFactory(username="loginuser")
    member(user, a.organisation)
    member(user, b.organisation)
    client.force_login(user)
    got = _events(action="login.succeeded")
    assert got == [(a.organisation_id, "login.succeeded", "auth.user", str(user.pk), "user:loginuser"),
                   (b.organisation_id, "login.succeeded", "auth.user", str(user.pk), "user:loginuser")]
    assert AuditEvent.objects.filter(action="login.succeeded").first().actor_id == user.pk


def test_login_failure_is_recorded_for_known_and_unknown_users():
    entity = EntityFactory()
    user = UserFactory(username="victim")
    member(user, entity.organisation)
    request = RequestFactory().post("/admin/login/", REMOTE_ADDR="192.0.2.7")
    request.request_id = "req-login-1"
    assert authenticate(request, username="victim", password="wrong-password-123") is None
    assert authenticate(request, username="nobody-here", password="wrong-password-123") is None
    got = list(AuditEvent.objects.filter(action="login.failed").order_by("id")
               .values_list("organisation_id", "actor_id", "actor_label", "client_addr", "request_id", "changes"))
    assert got == [(entity.organisation_id, None, "login:victim", "192.0.2.7", "req-login-1", {"username": "victim"}),
                   (ORG_PLATFORM, None, "login:nobody-here", "192.0.2.7", "req-login-1",
                    {"username": "nobody-here"})]
