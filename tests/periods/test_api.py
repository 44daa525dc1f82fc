"""Period API: scoped lists with filters, transitions as POST actions, problem+json refusals,
another tenant's periods are 404."""
import pytest

from ledger.services.entries import journal_entry_create
from periods.models import PeriodLockSnapshot
from tests.conditional import post_if_match
from tests.factories import user_with_role
from tests.ledger.helpers import build_world
from tests.periods.helpers import state

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def post(client, url, data=None):
    return post_if_match(client, url, data or {}, content_type="application/json")


@pytest.fixture
def controller(world):
    return user_with_role(world.entity, "controller", username="carla")


def test_entity_period_list_is_scoped_and_filtered(client, world, controller):
    build_world("OTHERCO")
    client.force_login(controller)
    body = client.get("/api/v1/entity-periods/?period=2026-03").json()
    assert [(r["entity_code"], r["period_code"], r["state"]) for r in body["results"]] == \
        [("ACME-DE", "2026-03", "open")]
    assert len(client.get("/api/v1/entity-periods/").json()["results"]) == 13  # ACME-DE only: no role on ACME-US
    assert client.get("/api/v1/entity-periods/?state=locked").json()["results"] == []


def test_fiscal_years_and_periods_are_scoped_to_the_callers_organisation(client, world, controller):
    build_world("OTHERCO")
    client.force_login(controller)
    assert [fy["code"] for fy in client.get("/api/v1/fiscal-years/").json()["results"]] == ["FY2026"]
    periods = client.get("/api/v1/periods/?code=FY2026-13").json()["results"]
    assert [(p["code"], p["number"], p["is_adjustment"]) for p in periods] == [("FY2026-13", 13, True)]
    assert len(client.get("/api/v1/periods/").json()["results"]) == 13


def test_soft_close_lock_and_reopen_through_the_api(client, world, controller):
    client.force_login(controller)
    ep = world.entity_period("2026-01")
    resp = post(client, f"/api/v1/entity-periods/{ep.pk}/soft-close/", {"reason": "month end"})
    assert resp.status_code == 200 and resp.json()["state"] == "soft_closed"
    resp = post(client, f"/api/v1/entity-periods/{ep.pk}/lock/")
    snap = PeriodLockSnapshot.objects.get(entity_period=ep)
    assert resp.status_code == 200
    assert resp.json()["entity_period"]["state"] == "locked"
    assert resp.json()["snapshot"] == {"id": snap.pk, "taken_at": resp.json()["snapshot"]["taken_at"],
                                       "taken_by": "carla", "line_count": 0, "sha256": snap.sha256}
    resp = post(client, f"/api/v1/entity-periods/{ep.pk}/reopen/", {"reason": "late invoice", "to": "soft_closed"})
    assert resp.status_code == 200
    assert (resp.json()["state"], resp.json()["reason"], resp.json()["changed_by"]) == \
        ("soft_closed", "late invoice", "carla")


def test_lock_already_locked_is_409_problem(client, world, controller):
    client.force_login(controller)
    ep = world.entity_period("2026-01")
    post(client, f"/api/v1/entity-periods/{ep.pk}/lock/")
    before = state()
    resp = post(client, f"/api/v1/entity-periods/{ep.pk}/lock/")
    assert resp.status_code == 409 and resp["Content-Type"] == PROBLEM
    assert resp.json()["code"] == "period_wrong_state"
    assert resp.json()["detail"] == "Period 2026-01 of ACME-DE is already locked."
    assert state() == before


def test_lock_with_drafts_lists_them_in_the_problem(client, world, controller):
    draft = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("7")).entry
    client.force_login(controller)
    ep = world.entity_period("2026-03")
    before = state()
    resp = post(client, f"/api/v1/entity-periods/{ep.pk}/lock/")
    assert resp.status_code == 422 and resp.json()["code"] == "unposted_entries"
    assert resp.json()["errors"] == [{"field": "entries", "message": f"Entry {draft.pk} is not posted.",
                                      "code": "unposted", "value": str(draft.pk)}]
    assert state() == before


def test_reopen_without_reason_is_422_reason_required(client, world, controller):
    client.force_login(controller)
    ep = world.entity_period("2026-03")
    post(client, f"/api/v1/entity-periods/{ep.pk}/lock/")
    before = state()
    resp = post(client, f"/api/v1/entity-periods/{ep.pk}/reopen/", {"reason": " "})
    assert resp.status_code == 422 and resp.json()["code"] == "reason_required"
    assert resp.json()["errors"][0]["field"] == "reason"
    assert state() == before


def test_viewer_may_see_but_not_lock(client, world):
    viewer = user_with_role(world.entity, "viewer")
    client.force_login(viewer)
    ep = world.entity_period("2026-03")
    before = state()
    resp = post(client, f"/api/v1/entity-periods/{ep.pk}/lock/")
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"
    assert state() == before


def test_preparer_cannot_reopen(client, world, controller):
    client.force_login(controller)
    ep = world.entity_period("2026-03")
    post(client, f"/api/v1/entity-periods/{ep.pk}/lock/")
    client.force_login(user_with_role(world.entity, "preparer"))
    before = state()
    resp = post(client, f"/api/v1/entity-periods/{ep.pk}/reopen/", {"reason": "why not"})
    assert resp.status_code == 403
    assert state() == before


def test_other_tenants_entity_period_is_404(client, world, controller):
    other = build_world("OTHERCO")
    client.force_login(controller)
    foreign = other.entity_period("2026-03")
    before = state()
    for action in ("soft-close", "lock", "reopen"):
        resp = post(client, f"/api/v1/entity-periods/{foreign.pk}/{action}/", {"reason": "x"})
        assert resp.status_code == 404 and resp["Content-Type"] == PROBLEM
    assert client.get(f"/api/v1/entity-periods/{foreign.pk}/").status_code == 404
    resp = post(client, "/api/v1/entity-periods/move/", {"entity_periods": [foreign.pk], "to": "locked"})
    assert resp.status_code == 404
    fy = other.period("2026-03").fiscal_year
    assert post(client, f"/api/v1/fiscal-years/{fy.pk}/year-end-close/", {"entity": other.entity.pk}).status_code \
        == 404
    assert state() == before


def test_move_is_all_or_nothing(client, world):
    ctl = user_with_role(world.entity, "controller")
    from sheshi.access.services.grants import role_grant

    role_grant(actor=None, user=ctl, entity=world.other, role="viewer")  # sees ACME-US but may not close it
    client.force_login(ctl)
    ids = [world.entity_period("2026-01").pk, world.entity_period("2026-01", world.other).pk]
    before = state()
    resp = post(client, "/api/v1/entity-periods/move/", {"entity_periods": ids, "to": "locked"})
    # A missing permission refuses the whole request (403), before or after other cells moved.
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"
    assert resp.json()["detail"] == "You are not allowed to close periods for entity ACME-US."
    assert state() == before
    role_grant(actor=None, user=ctl, entity=world.other, role="controller")
    resp = post(client, "/api/v1/entity-periods/move/", {"entity_periods": ids, "to": "locked"})
    assert resp.status_code == 200
    assert [r["state"] for r in resp.json()] == ["locked", "locked"]
