"""The admin's audit log: read-only, and a user sees only their organisations' events."""
import pytest
from django.contrib.auth.models import Permission

from audit.models import AuditEvent
from tests.factories import EntityFactory, UserFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_member():
    entity, foreign = EntityFactory(), EntityFactory()
    user = UserFactory(username="auditstaff", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    member(user, entity.organisation)
    return user, entity, foreign


def test_audit_log_lists_only_the_callers_organisations(client, staff_member):
    user, entity, foreign = staff_member
    client.force_login(user)
    resp = client.get("/admin/audit/auditevent/", {"o": "1"})
    assert resp.status_code == 200
    shown = {e.organisation_id for e in resp.context["cl"].result_list}
    assert shown == {entity.organisation_id}
    assert AuditEvent.objects.filter(organisation_id=foreign.organisation_id).exists()
    filtered = client.get("/admin/audit/auditevent/", {"action": "insert", "object_type": "tenancy.entity"})
    assert [(e.organisation_id, e.action, e.object_type) for e in filtered.context["cl"].result_list] == [
        (entity.organisation_id, "insert", "tenancy.entity")]


def test_audit_log_cannot_be_added_changed_or_deleted(client, staff_member):
    user, entity, foreign = staff_member
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_auditevent", "change_auditevent",
                                                                          "delete_auditevent"]))
    client.force_login(user)
    event = AuditEvent.objects.filter(organisation_id=entity.organisation_id).first()
    before = list(AuditEvent.objects.values_list("id", "action"))
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"action": "forged"}).status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert list(AuditEvent.objects.values_list("id", "action")) == before
    foreign_event = AuditEvent.objects.filter(organisation_id=foreign.organisation_id).first()
    assert client.get(f"/admin/audit/auditevent/{foreign_event.pk}/change/").status_code == 302  # not found
