"""The system's powers need the system's credentials (issue #14 item 6).

Before tenancy migration 0006 the web role could `set_config('sheshi.org_ids', '*')` and read every
organisation, and label itself `system:...` (no actor id) to pass every privilege check the database
makes (`sheshi_actor_may`: close privilege, role grants). Now both are honoured only for a session of
the role sheshi_system (the jobs role) or the schema owner.
"""
from __future__ import annotations

import psycopg
import pytest
from django.test import Client, RequestFactory

from sheshi.db.context import current_context
from sheshi.request_context import apply_user_context
from tests.conftest import requires_role_split
from tests.factories import EntityFactory, OrganisationFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), requires_role_split]


@pytest.fixture
def two_orgs():
    a, b = OrganisationFactory(code="SCA"), OrganisationFactory(code="SCB")
    return a, b, EntityFactory(organisation=a, code="SCA1"), EntityFactory(organisation=b, code="SCB1")


def test_web_role_cannot_take_the_all_organisations_scope(app_sql, two_orgs):
    app_sql.execute("SELECT set_config('sheshi.org_ids', '*', false)")
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as exc:
        app_sql.execute("SELECT count(*) FROM tenancy_entity").fetchone()
    assert exc.value.diag.constraint_name == "sheshi_system_scope_only"
    # Naming its organisations still works: the scope is on trust, the wildcard is not.
    a, _b, ea, _eb = two_orgs
    app_sql.execute("SELECT set_config('sheshi.org_ids', %s, false)", [str(a.pk)])
    assert app_sql.execute("SELECT array_agg(id) FROM tenancy_entity").fetchone()[0] == [ea.pk]


def test_jobs_role_takes_the_all_organisations_scope(jobs_sql, two_orgs):
    jobs_sql.execute("SELECT set_config('sheshi.org_ids', '*', false)")
    _a, _b, ea, eb = two_orgs
    ids = jobs_sql.execute("SELECT array_agg(id ORDER BY id) FROM tenancy_entity WHERE id = ANY(%s)",
                           [[ea.pk, eb.pk]]).fetchone()[0]
    assert ids == sorted([ea.pk, eb.pk])


def test_web_role_labelled_system_gets_no_privilege(app_sql, jobs_sql, two_orgs):
    _a, _b, ea, _eb = two_orgs
    for conn in (app_sql, jobs_sql):
        conn.execute("SELECT set_config('sheshi.actor_id', '', false), "
                     "set_config('sheshi.actor_label', 'system:forged', false)")
    may = "SELECT sheshi_actor_may(%s, 'close_period')"
    assert app_sql.execute(may, [ea.pk]).fetchone()[0] is False
    assert jobs_sql.execute(may, [ea.pk]).fetchone()[0] is True


def test_web_superuser_gets_an_explicit_list_not_the_wildcard(two_orgs):
    a, b, *_ = two_orgs
    admin = UserFactory(username="scope-admin", is_staff=True, is_superuser=True)
    apply_user_context(RequestFactory().get("/"), admin)
    orgs = current_context()["sheshi.org_ids"]
    assert orgs != "*" and {a.pk, b.pk} <= {int(i) for i in orgs.split(",")}
    # And the superuser's admin still lists every organisation under that list.
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/tenancy/organisation/")
    assert page.status_code == 200
    assert {a.pk, b.pk} <= {o.pk for o in page.context["cl"].result_list}
