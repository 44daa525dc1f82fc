"""The close workspace in the admin (issue #16 items 2 and 3): tasks created from templates
(period opening, command, admin action, API), the close dashboard's counts and moves, the task
and reconciliation pages — each through the services, refusals as sentences on the page."""
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.services.entries import journal_entry_create, journal_entry_create_and_post
from periods.models import ChecklistTask, FiscalYear
from periods.selectors.dashboard import close_dashboard_get
from periods.services import checklist
from periods.services import reconciliation as recs
from periods.services.transitions import fiscal_year_generate
from sheshi.access.services.grants import role_grant
from tests.factories import user_with_role
from tests.ledger.helpers import build_world
from tests.periods.helpers import raw_post_sale, state

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/periods/entityperiod/dashboard/"
ITEMS = [{"title": "Bank reconciliation", "required": True, "due_offset_days": 3},
         {"title": "Accruals review", "required": True, "due_offset_days": 5, "requires_review": True},
         {"title": "Tidy the shared drive", "required": False}]


def staff(user):
    from django.contrib.auth.models import Permission

    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["ledger", "periods"],
                                                         codename__startswith="view_"))
    return user


@pytest.fixture
def people(world):
    return {"prep": staff(user_with_role(world.entity, "preparer", username="pat")),
            "rev": staff(user_with_role(world.entity, "approver", username="rita")),
            "ctl": staff(user_with_role(world.entity, "controller", username="carl")),
            "us": staff(user_with_role(world.other, "controller", username="uma"))}


@pytest.fixture
def template(world):
    return checklist.checklist_template_create(actor=None, organisation=world.org, name="Month end", items=ITEMS)


def test_tasks_come_from_the_templates_once_whoever_asks(world, template):
    ep = world.entity_period("2026-03")
    made = checklist.checklist_tasks_create_from_templates(actor=None, entity_period_id=ep.pk)
    assert [(t.title, t.due_date, t.requires_review) for t in made] == [
        ("Bank reconciliation", date(2026, 4, 3), False), ("Accruals review", date(2026, 4, 5), True),
        ("Tidy the shared drive", date(2026, 3, 31), False)]
    assert checklist.checklist_tasks_create_from_templates(actor=None, entity_period_id=ep.pk) == []
    assert ChecklistTask.objects.filter(entity_period=ep).count() == 3


def test_an_entitys_own_template_applies_to_that_entity_only(world, template):
    checklist.checklist_template_create(actor=None, organisation=world.org, name="US payroll", entity=world.other,
                                        items=[{"title": "Payroll tax filing"}])
    de = checklist.checklist_tasks_create_from_templates(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    us = checklist.checklist_tasks_create_from_templates(
        actor=None, entity_period_id=world.entity_period("2026-03", world.other).pk)
    assert len(de) == 3 and len(us) == 4 and "Payroll tax filing" in [t.title for t in us]


def test_a_new_fiscal_year_opens_with_its_tasks_and_the_command_fills_existing_periods(world, template):
    fiscal_year_generate(organisation=world.org, year=2027)
    assert ChecklistTask.objects.filter(entity_period__period__fiscal_year__code="FY2027").count() == 2 * 13 * 3
    assert not ChecklistTask.objects.filter(entity_period__period__fiscal_year__code="FY2026").exists()
    out = StringIO()
    call_command("create_close_tasks", "--org", world.org.code, "--period", "2026-03", stdout=out)
    assert out.getvalue().strip() == f"{world.org.code}: 6 close task(s) created."
    call_command("create_close_tasks", "--org", world.org.code, "--period", "2026-03", stdout=out)
    assert out.getvalue().strip().endswith(f"{world.org.code}: 0 close task(s) created.")


def test_the_admin_action_creates_tasks_and_is_hidden_from_those_who_cannot_use_it(client, world, template, people):
    ep = world.entity_period("2026-03")
    client.force_login(people["prep"])
    page = client.get("/admin/periods/entityperiod/").content.decode()
    assert "create_close_tasks" not in page
    client.force_login(people["ctl"])
    assert "create_close_tasks" in client.get("/admin/periods/entityperiod/").content.decode()
    resp = client.post("/admin/periods/entityperiod/", {"action": "create_close_tasks", "_selected_action": [ep.pk]},
                       follow=True)
    assert [str(m) for m in resp.context["messages"]] == ["3 close task(s) created (tasks already there are kept)."]


def test_task_page_done_sign_off_by_someone_else_and_comments(client, world, template, people):
    tasks = checklist.checklist_tasks_create_from_templates(actor=None, entity_period_id=world.entity_period(
        "2026-03").pk)
    review = tasks[1]
    url = f"/admin/periods/checklisttask/{review.pk}/change/"
    client.force_login(people["ctl"])
    client.post(url, {"op": "done"}, follow=True)
    resp = client.post(url, {"op": "sign_off"}, follow=True)  # the one who did it cannot sign it off
    assert [str(m) for m in resp.context["messages"]] == [
        "Task “Accruals review” was not changed: You completed task “Accruals review”; someone else must sign it off."]
    client.force_login(people["rev"])
    resp = client.post(url, {"op": "sign_off"}, follow=True)
    assert [str(m) for m in resp.context["messages"]] == ["Task “Accruals review” is signed off."]
    resp = client.post(url, {"op": "comment", "body": "Checked against the accruals schedule."}, follow=True)
    assert "Checked against the accruals schedule." in resp.content.decode()
    review.refresh_from_db()
    assert (review.status, review.completed_by_id, review.signed_off_by_id) == (
        "signed_off", people["ctl"].pk, people["rev"].pk)


def test_lock_refusal_names_the_open_tasks_in_words_on_the_dashboard(client, world, template, people):
    ep = world.entity_period("2026-01")
    checklist.checklist_tasks_create_from_templates(actor=None, entity_period_id=ep.pk)
    client.force_login(people["ctl"])
    before = state()
    resp = client.post(DASHBOARD, {"entity_period": ep.pk, "to": "locked"}, follow=True)
    assert [str(m) for m in resp.context["messages"]] == [
        f"{world.entity.code} 2026-01 was not locked: 2 close items of {world.entity.code} 2026-01 are open or "
        "lapsed; finish them or override with a reason. Close task “Bank reconciliation” is still open. "
        "Close task “Accruals review” is still open."]
    assert state() == before


def test_dashboard_soft_close_warns_then_goes_ahead_with_force_and_reason(client, world, people):
    ep = world.entity_period("2026-01")
    journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30", day=date(2026, 1, 10)))
    client.force_login(people["ctl"])
    before = state()
    resp = client.post(DASHBOARD, {"entity_period": ep.pk, "to": "soft_closed"}, follow=True)
    (message,) = [str(m) for m in resp.context["messages"]]
    assert message.startswith(f"{world.entity.code} 2026-01 still has 1 unposted or open item(s): Entry ")
    assert 'name="force"' in resp.content.decode()
    assert state() == before
    resp = client.post(DASHBOARD, {"entity_period": ep.pk, "to": "soft_closed", "force": "yes",
                                   "reason": "draft belongs to February"}, follow=True)
    assert [str(m) for m in resp.context["messages"]] == [f"{world.entity.code} 2026-01 is soft-closed."]
    ep.refresh_from_db()
    assert ep.state == "soft_closed" and ep.reason.startswith("draft belongs to February")


def test_dashboard_counts_and_links_and_scope(client, world, template, people):
    build_world("OTHERCO")
    ep = world.entity_period("2026-03")
    journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30"))
    checklist.checklist_tasks_create_from_templates(actor=None, entity_period_id=ep.pk)
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    rec = recs.reconciliation_prepare(actor=people["prep"], entity_period_id=ep.pk, account_id=world.acc("1200"),
                                      statement_balance=Decimal("100"))
    recs.reconciliation_review(actor=people["rev"], reconciliation_id=rec.pk)
    recs.reconciliation_require(actor=None, entity_period_id=ep.pk, account_ids=[world.acc("1100")])
    fy = FiscalYear.objects.get(organisation=world.org, code="FY2026")
    board = close_dashboard_get(user=people["ctl"], organisation=world.org, fiscal_year=fy)
    (row,) = board.rows  # the controller sees ACME-DE only
    cell = row.cells[2]
    assert (row.entity.code, cell.unposted, cell.open_tasks, cell.reconciliations, cell.ic_differences) == (
        world.entity.code, 1, 3, 1, 0)
    raw_post_sale(world, "1")  # lapses the reviewed 1200
    assert close_dashboard_get(user=people["ctl"], organisation=world.org, fiscal_year=fy).rows[0].cells[2] \
        .reconciliations == 2
    client.force_login(people["ctl"])
    page = client.get(DASHBOARD).content.decode()
    assert world.entity.code in page and world.other.code not in page and "OTHERCO" not in page
    assert f"entity_period__id__exact={ep.pk}&amp;progress=unfinished" in page
    tasks = client.get(f"/admin/periods/checklisttask/?entity_period__id__exact={ep.pk}&progress=unfinished")
    assert tasks.context["cl"].result_count == 3
    recs_page = client.get(f"/admin/periods/accountreconciliation/?entity_period__id__exact={ep.pk}&attention=yes")
    assert recs_page.context["cl"].result_count == 2
    entries = client.get(f"/admin/ledger/journalentry/?entity__id__exact={world.entity.pk}&period__id__exact="
                         f"{ep.period_id}&status__in=draft,submitted,approved")
    assert entries.context["cl"].result_count == 1
    # The index links to the dashboard; a user without a role on any entity sees no actions.
    assert "/admin/periods/entityperiod/dashboard/" in client.get("/admin/").content.decode()
    client.force_login(staff(user_with_role(world.entity, "viewer", username="vera")))
    page = client.get(DASHBOARD).content.decode()
    assert world.entity.code in page and 'class="lock"' not in page


def test_dashboard_reads_are_a_handful_of_queries_whatever_the_grid_size(world, people):
    role_grant(actor=None, user=people["ctl"], entity=world.other, role="controller")
    fy = FiscalYear.objects.get(organisation=world.org, code="FY2026")
    with CaptureQueriesContext(connection) as queries:
        board = close_dashboard_get(user=people["ctl"], organisation=world.org, fiscal_year=fy)
    assert sum(1 for row in board.rows for c in row.cells if c) == 26
    assert len(queries) <= 10


def test_another_entitys_user_cannot_act_on_its_tasks_or_reconciliations_in_the_admin(client, world, template,
                                                                                         people):
    ep = world.entity_period("2026-03")
    (task, *_) = checklist.checklist_tasks_create_from_templates(actor=None, entity_period_id=ep.pk)
    (rec,) = recs.reconciliation_require(actor=None, entity_period_id=ep.pk, account_ids=[world.acc("1200")])
    client.force_login(people["us"])
    before = state()
    # Not in their lists: Django's own page refuses the POST (403), no service is called.
    assert client.post(f"/admin/periods/checklisttask/{task.pk}/change/", {"op": "done"}).status_code == 403
    assert client.post(f"/admin/periods/accountreconciliation/{rec.pk}/change/",
                       {"op": "prepare", "statement_balance": "0"}).status_code == 403
    assert client.post(DASHBOARD, {"entity_period": ep.pk, "to": "locked"}, follow=True).context["messages"]
    assert state() == before


def test_reconciliation_page_prepares_reviews_and_shows_the_lapse(client, world, people):
    ep = world.entity_period("2026-03")
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("1250"))
    (rec,) = recs.reconciliation_require(actor=None, entity_period_id=ep.pk, account_ids=[world.acc("1200")])
    url = f"/admin/periods/accountreconciliation/{rec.pk}/change/"
    client.force_login(people["prep"])
    resp = client.post(url, {"op": "prepare", "statement_balance": "1,200.00"}, follow=True)
    assert [str(m) for m in resp.context["messages"]] == [
        "Reconciliation of 1200 was not changed: GL closing balance 1,250.00 less statement balance 1,200.00 is "
        "50.00; the reconciling items explain 0.00, leaving 50.00 unexplained. Add reconciling items for it first."]
    client.post(url, {"op": "item", "description": "Receipt in transit", "amount": "50"}, follow=True)
    resp = client.post(url, {"op": "prepare", "statement_balance": "1,200.00"}, follow=True)
    assert [str(m) for m in resp.context["messages"]] == ["Reconciliation of 1200 is prepared."]
    client.force_login(people["rev"])
    resp = client.post(url, {"op": "review"}, follow=True)
    assert [str(m) for m in resp.context["messages"]] == ["Reconciliation of 1200 is reviewed."]
    raw_post_sale(world, "10", period="2026-02")
    page = client.get(url).content.decode()
    assert "This sign-off has lapsed: the GL closing balance was 1,250.00 when it was prepared (1 lines) and is " \
           "1,260.00 now (2 lines), a change of 10.00." in page
