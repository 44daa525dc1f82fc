"""The close grid: entities × periods with states, a selection moved at once after a
confirmation page, scoped to the user's entities and bound by their permissions."""
import pytest

from periods.models import FiscalYear, PeriodLockSnapshot
from sheshi.access.services.grants import role_grant
from tests.factories import member, user_with_role
from tests.ledger.helpers import build_world
from tests.periods.helpers import state

pytestmark = pytest.mark.django_db

GRID = "/admin/periods/entityperiod/grid/"
CONFIRM = "/admin/periods/entityperiod/grid/confirm/"


def staff(user):
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def controller(world):
    user = staff(user_with_role(world.entity, "controller", username="cora"))
    role_grant(actor=None, user=user, entity=world.other, role="controller")
    return user


def test_grid_shows_the_users_entities_and_states(client, world, controller):
    build_world("OTHERCO")
    client.force_login(controller)
    page = client.get(GRID).content.decode()
    assert "ACME-DE" in page and "ACME-US" in page and "OTHERCO-DE" not in page
    assert page.count('name="cell"') == 26  # 2 entities × 13 periods
    assert page.count("class=\"state-open\"") == 26


def test_moving_a_row_and_a_column_locks_after_confirmation(client, world, controller):
    client.force_login(controller)
    fy = FiscalYear.objects.get(organisation=world.org, code="FY2026")
    q1 = [world.period(code).pk for code in ("2026-01", "2026-02", "2026-03")]
    selection = {"fiscal_year": fy.pk, "row": [world.entity.pk], "col": q1, "to": "locked"}
    before = state()
    page = client.post(CONFIRM, selection).content.decode()
    assert "These 16 period(s) will move to <strong>locked</strong>" in page  # DE's 13 + US January to March
    assert state() == before  # the review page changes nothing
    ids = [c.split('"')[0] for c in page.split('name="cell" value="')[1:]]
    resp = client.post(CONFIRM, {"cell": ids, "to": "locked", "confirmed": "yes", "reason": "Q1 close"})
    assert resp.status_code == 302  # one step, each entity's months locked oldest first
    assert world.entity.entity_periods.filter(state="locked").count() == 13
    assert world.entity_period("2026-03", world.other).state == "locked"
    assert world.entity_period("2026-04", world.other).state == "open"
    assert PeriodLockSnapshot.objects.count() == 16


def test_a_month_cannot_lock_before_the_months_ahead_of_it(client, world, controller):
    """Issue #15: US 2026-06 locked straight from open while April and May were open let an April
    posting change June's locked (cumulative) trial balance."""
    client.force_login(controller)
    before = state()
    page = client.post(CONFIRM, {"cell": [world.entity_period("2026-06", world.other).pk], "to": "locked",
                                 "confirmed": "yes"}).content.decode()
    assert "cannot lock while the earlier period 2026-01 is open" in page and "Nothing was changed." in page
    assert state() == before


def test_reopen_from_the_grid_needs_a_reason(client, world, controller):
    client.force_login(controller)
    cell = world.entity_period("2026-01")
    client.post(CONFIRM, {"cell": [cell.pk], "to": "locked", "confirmed": "yes"})
    before = state()
    page = client.post(CONFIRM, {"cell": [cell.pk], "to": "open"}).content.decode()
    assert "(required to reopen)" in page
    page = client.post(CONFIRM, {"cell": [cell.pk], "to": "open", "confirmed": "yes", "reason": " "}).content.decode()
    assert "Reopening needs a written reason." in page and "Nothing was changed." in page
    assert state() == before
    client.post(CONFIRM, {"cell": [cell.pk], "to": "open", "confirmed": "yes", "reason": "late invoice"})
    cell.refresh_from_db()
    assert (cell.state, cell.reason) == ("open", "late invoice")


def test_a_refusal_in_the_selection_changes_nothing(client, world):
    user = staff(user_with_role(world.entity, "controller"))
    role_grant(actor=None, user=user, entity=world.other, role="viewer")
    client.force_login(user)
    cells = [world.entity_period("2026-03").pk, world.entity_period("2026-03", world.other).pk]
    before = state()
    page = client.post(CONFIRM, {"cell": cells, "to": "locked", "confirmed": "yes"}).content.decode()
    assert "You are not allowed to close periods for entity ACME-US." in page
    assert "Nothing was changed." in page
    assert state() == before


def test_other_organisations_cells_cannot_be_selected(client, world, controller):
    other = build_world("OTHERCO")
    client.force_login(controller)
    foreign = other.entity_period("2026-03")
    before = state()
    page = client.post(CONFIRM, {"cell": [foreign.pk], "to": "locked", "confirmed": "yes"}).content.decode()
    assert "Nothing to move." in page
    assert state() == before


def test_generate_fiscal_year_form_needs_an_org_admin(client, world, controller):
    client.force_login(controller)
    resp = client.post("/admin/periods/fiscalyear/generate/", {"organisation": world.org.pk, "year": 2027,
                                                                "adjustment_period": "on"})
    assert resp.status_code == 403
    assert not FiscalYear.objects.filter(code="FY2027").exists()
    admin = staff(user_with_role(world.entity, "viewer"))
    member(admin, world.org, org_admin=True)
    client.force_login(admin)
    resp = client.post("/admin/periods/fiscalyear/generate/", {"organisation": world.org.pk, "year": 2027})
    assert resp.status_code == 302
    fy = FiscalYear.objects.get(organisation=world.org, code="FY2027")
    assert fy.periods.count() == 12  # adjustment period unticked


def test_generate_next_year_action(client, world):
    from django.contrib.auth.models import Permission

    admin = staff(user_with_role(world.entity, "viewer"))
    member(admin, world.org, org_admin=True)
    admin.user_permissions.add(*Permission.objects.filter(codename="view_fiscalyear"))
    client.force_login(admin)
    fy = FiscalYear.objects.get(organisation=world.org, code="FY2026")
    resp = client.post("/admin/periods/fiscalyear/", {"action": "generate_next_year", "_selected_action": [fy.pk]})
    assert resp.status_code == 302
    assert FiscalYear.objects.get(organisation=world.org, code="FY2027").periods.count() == 13
