"""A user of organisation A gets 404 — never data — for anything of organisation B."""
import re

import pytest
from django.db import connection

from sheshi.db.context import db_context
from sheshi.tenancy.models import Entity, Organisation
from tests.factories import EntityFactory, OrganisationFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orgs():
    org_a, org_b = OrganisationFactory(code="ALPHA"), OrganisationFactory(code="BRAVO")
    a1 = EntityFactory(organisation=org_a, code="A1")
    a2 = EntityFactory(organisation=org_a, code="A2")
    b1 = EntityFactory(organisation=org_b, code="B1")
    viewer = user_with_role(a1, "viewer", username="alice")
    return {"org_a": org_a, "org_b": org_b, "a1": a1, "a2": a2, "b1": b1, "viewer": viewer}


def test_entity_list_shows_only_entities_the_user_holds_a_role_on(client, two_orgs):
    client.force_login(two_orgs["viewer"])
    resp = client.get("/api/v1/entities/")
    assert resp.status_code == 200
    assert [e["code"] for e in resp.json()["results"]] == ["A1"]


def test_other_organisations_entity_is_404_not_403(client, two_orgs):
    client.force_login(two_orgs["viewer"])
    resp = client.get(f"/api/v1/entities/{two_orgs['b1'].pk}/")
    assert resp.status_code == 404
    assert resp["Content-Type"] == "application/problem+json"
    assert "B1" not in resp.content.decode()


def test_same_org_entity_without_role_is_404(client, two_orgs):
    client.force_login(two_orgs["viewer"])
    assert client.get(f"/api/v1/entities/{two_orgs['a2'].pk}/").status_code == 404


def test_organisation_list_is_scoped(client, two_orgs):
    client.force_login(two_orgs["viewer"])
    resp = client.get("/api/v1/organisations/")
    assert [o["code"] for o in resp.json()["results"]] == ["ALPHA"]
    assert client.get(f"/api/v1/organisations/{two_orgs['org_b'].pk}/").status_code == 404


def test_admin_lists_only_own_organisation(client, two_orgs):
    viewer = two_orgs["viewer"]
    viewer.is_staff = True
    viewer.save()
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_entity", "view_organisation"]))
    client.force_login(viewer)
    page = client.get("/admin/tenancy/entity/").content.decode()
    # Whole words: a CSRF token may contain "B1" by chance.
    assert re.search(r"\bA1\b", page) and not re.search(r"\bB1\b", page)
    assert client.get(f"/admin/tenancy/entity/{two_orgs['b1'].pk}/change/").status_code in (302, 404)
    orgs = client.get("/admin/tenancy/organisation/").content.decode()
    assert "ALPHA" in orgs and "BRAVO" not in orgs


def test_row_level_security_hides_other_orgs_rows_from_an_unfiltered_query(two_orgs):
    """Defence in depth: a query that forgets its tenant filter still sees only its scope."""
    with db_context(org_ids=[two_orgs["org_a"].pk]):
        assert sorted(Entity.objects.values_list("code", flat=True)) == ["A1", "A2"]
        assert list(Organisation.objects.values_list("code", flat=True)) == ["ALPHA"]
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM tenancy_entity")
            assert cur.fetchone()[0] == 2


def test_row_level_security_with_no_scope_sees_nothing(two_orgs):
    with db_context(org_ids=""):
        assert Entity.objects.count() == 0


def test_row_level_security_refuses_writes_into_another_org(two_orgs):
    from django.db import DatabaseError, transaction

    with db_context(org_ids=[two_orgs["org_a"].pk]), pytest.raises(DatabaseError, match="row-level security"), \
            transaction.atomic():
        Entity.objects.create(organisation=two_orgs["org_b"], code="SNEAK", name="x",
                              functional_currency="EUR", country="DE")


def test_every_table_with_an_organisation_has_row_level_security():
    """Structural: a tenant-owned table (it has organisation_id) without a policy would let an
    unfiltered query read every organisation. simple-history tables were such a gap."""
    with connection.cursor() as cur:
        cur.execute("""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped
                                                          AND a.attname = 'organisation_id')
             ORDER BY 1""")
        unprotected = [r[0] for r in cur.fetchall()]
    assert unprotected == []


def test_history_of_another_organisation_is_invisible(two_orgs):
    """An unfiltered read of the history tables, scoped to organisation A."""
    from sheshi.tenancy.models import Entity as EntityModel

    with db_context(org_ids=[two_orgs["org_a"].pk]):
        codes = sorted(EntityModel.history.values_list("code", flat=True))
        with connection.cursor() as cur:
            cur.execute("SELECT DISTINCT code FROM tenancy_historicalorganisation")
            orgs = [r[0] for r in cur.fetchall()]
    assert codes == ["A1", "A2"] and orgs == ["ALPHA"]
