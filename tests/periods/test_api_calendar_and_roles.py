"""Fiscal calendar generation (fiscal_year_generate) and role grants (role_grant/role_revoke)
over the API: organisation admins only, as in the admin."""
import pytest

from audit.models import AuditEvent
from periods.models import EntityPeriod, FiscalYear
from sheshi.access.checks import has_entity_perm
from sheshi.access.roles import PREPARE
from tests.conditional import post_if_match
from tests.factories import EntityFactory, UserFactory, member, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def entity():
    return EntityFactory(code="CAL1")


@pytest.fixture
def org_admin(entity):
    user = UserFactory(username="cal_admin")
    member(user, entity.organisation, org_admin=True)
    from sheshi.access.services.grants import role_grant

    role_grant(actor=None, user=user, entity=entity, role="org_admin")
    return user


def generate(client, entity, **kw):
    return client.post("/api/v1/fiscal-years/generate/", {"organisation": entity.organisation_id, "year": 2027, **kw},
                       content_type="application/json")


def test_an_org_admin_generates_a_year_and_it_is_idempotent(client, entity, org_admin):
    client.force_login(org_admin)
    resp = generate(client, entity)
    assert resp.status_code == 200, resp.json()
    assert (resp.json()["code"], resp.json()["start_date"], resp.json()["end_date"]) == \
        ("FY2027", "2027-01-01", "2027-12-31")
    fy = FiscalYear.objects.get(organisation=entity.organisation, code="FY2027")
    assert fy.periods.count() == 13
    assert EntityPeriod.objects.filter(entity=entity, period__fiscal_year=fy).count() == 13
    assert generate(client, entity).status_code == 200
    assert FiscalYear.objects.filter(code="FY2027").count() == 1 and fy.periods.count() == 13


def test_without_adjustment_period_and_bad_years(client, entity, org_admin):
    client.force_login(org_admin)
    assert generate(client, entity, year=2028, adjustment_period=False).status_code == 200
    assert FiscalYear.objects.get(code="FY2028").periods.count() == 12
    bad = generate(client, entity, year=20280)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "year"


def test_a_controller_cannot_generate(client, entity):
    client.force_login(user_with_role(entity, "controller"))
    assert generate(client, entity).status_code == 403
    assert not FiscalYear.objects.filter(code="FY2027").exists()


def test_grant_and_revoke_a_role(client, entity, org_admin):
    newcomer = UserFactory(username="cal_new")
    member(newcomer, entity.organisation)
    client.force_login(org_admin)
    url = f"/api/v1/entities/{entity.pk}/"
    resp = post_if_match(client, url + "grant-role/",
                         {"user": "cal_new", "role": "preparer"}, content_type="application/json")
    assert resp.status_code == 200, resp.json()
    assert resp.json() == {"entity": "CAL1", "user": "cal_new", "role": "preparer", "granted": True}
    assert has_entity_perm(newcomer, PREPARE, entity)
    assert AuditEvent.objects.filter(action="role.granted", object_id=str(entity.pk)).exists()
    resp = post_if_match(client, url + "revoke-role/",
                         {"user": "cal_new", "role": "preparer"}, content_type="application/json")
    assert resp.status_code == 200 and resp.json()["granted"] is False
    from sheshi.access.memo import forget

    forget()
    assert not has_entity_perm(newcomer, PREPARE, entity)
    assert AuditEvent.objects.filter(action="role.revoked", object_id=str(entity.pk)).exists()


def test_a_user_outside_the_organisation_reads_as_unknown(client, entity, org_admin):
    stranger = EntityFactory(code="CAL9")
    user_with_role(stranger, "viewer", username="cal_stranger")
    client.force_login(org_admin)
    for name in ("cal_stranger", "nobody"):
        resp = post_if_match(client, f"/api/v1/entities/{entity.pk}/grant-role/", {"user": name, "role": "viewer"},
                             content_type="application/json")
        assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == "not_a_member"


def test_a_controller_cannot_grant(client, entity):
    member(UserFactory(username="cal_new"), entity.organisation)
    client.force_login(user_with_role(entity, "controller"))
    resp = post_if_match(client, f"/api/v1/entities/{entity.pk}/grant-role/", {"user": "cal_new", "role": "controller"},
                         content_type="application/json")
    assert resp.status_code == 403
