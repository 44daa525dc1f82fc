"""The close workspace over /api/v1 (issue #18 item 1): checklist tasks from templates, status,
sign-off and comments, and the close dashboard — the same services and permissions as the admin."""
import pytest

from periods.models import ChecklistTask, ChecklistTaskComment
from periods.services import checklist
from sheshi.access.services.grants import role_grant
from tests.conditional import post_if_match
from tests.factories import user_with_role
from tests.ledger.helpers import build_world
from tests.periods.helpers import state

pytestmark = pytest.mark.django_db
TASKS = "/api/v1/checklist-tasks/"


@pytest.fixture
def people(world):
    return {"prep": user_with_role(world.entity, "preparer", username="pat"),
            "rev": user_with_role(world.entity, "approver", username="rita"),
            "ctl": user_with_role(world.entity, "controller", username="carl"),
            "us": user_with_role(world.other, "controller", username="uma")}


@pytest.fixture
def template(world):
    return checklist.checklist_template_create(actor=None, organisation=world.org, name="Month end", items=[
        {"title": "Bank reconciliation", "due_offset_days": 3},
        {"title": "Accruals review", "requires_review": True}])


def post(client, url, data=None):
    return post_if_match(client, url, data or {}, content_type="application/json")


def test_tasks_from_templates_status_sign_off_and_comments(client, world, template, people):
    ep = world.entity_period("2026-03")
    client.force_login(people["ctl"])
    made = post(client, f"{TASKS}create-from-templates/", {"entity_period": ep.pk})
    assert made.status_code == 200
    assert [(t["title"], t["requires_review"], t["status"]) for t in made.json()] == [
        ("Bank reconciliation", False, "open"), ("Accruals review", True, "open")]
    assert post(client, f"{TASKS}create-from-templates/", {"entity_period": ep.pk}).json() == []
    review_id = made.json()[1]["id"]
    assert post(client, f"{TASKS}{review_id}/status/", {"status": "done"}).json()["completed_by"] == "carl"
    refused = post(client, f"{TASKS}{review_id}/sign-off/")
    assert (refused.status_code, refused.json()["code"]) == (403, "segregation_of_duties")
    client.force_login(people["rev"])
    signed = post(client, f"{TASKS}{review_id}/sign-off/").json()
    assert (signed["status"], signed["signed_off_by"]) == ("signed_off", "rita")
    commented = post(client, f"{TASKS}{review_id}/comments/", {"body": "Agreed to the schedule."})
    assert commented.status_code == 201
    assert [(c["author"], c["body"]) for c in commented.json()["comments"]] == [("rita", "Agreed to the schedule.")]
    # signed_off is the reviewer's: the status route does not take it
    bad = post(client, f"{TASKS}{review_id}/status/", {"status": "signed_off"})
    assert (bad.status_code, bad.json()["code"]) == (400, "validation_failed")


def test_another_entitys_controller_gets_404_and_nothing_is_written(client, world, template, people):
    ep = world.entity_period("2026-03")
    (task, _) = checklist.checklist_tasks_create_from_templates(actor=None, entity_period_id=ep.pk)
    client.force_login(people["us"])
    before = state(), ChecklistTaskComment.objects.count()
    assert post(client, f"{TASKS}create-from-templates/", {"entity_period": ep.pk}).status_code == 404
    assert post(client, f"{TASKS}{task.pk}/status/", {"status": "done"}).status_code == 404
    assert post(client, f"{TASKS}{task.pk}/sign-off/").status_code == 404
    assert post(client, f"{TASKS}{task.pk}/comments/", {"body": "x"}).status_code == 404
    assert (state(), ChecklistTaskComment.objects.count()) == before


def test_a_viewer_cannot_create_tasks(client, world, template):
    viewer = user_with_role(world.entity, "viewer", username="vic")
    client.force_login(viewer)
    resp = post(client, f"{TASKS}create-from-templates/", {"entity_period": world.entity_period("2026-03").pk})
    assert (resp.status_code, resp.json()["code"]) == (403, "permission_denied")
    assert ChecklistTask.objects.count() == 0


def test_dashboard_api_is_scoped_to_the_callers_entities(client, world, template, people):
    build_world("OTHERCO")
    checklist.checklist_tasks_create_from_templates(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    client.force_login(people["ctl"])
    body = client.get(f"/api/v1/close/dashboard/?organisation={world.org.code}&fiscal_year=FY2026").json()
    rows = [(r["entity_code"], r["may_close"], len(r["cells"])) for r in body["rows"]]
    assert rows == [(world.entity.code, True, 13)]
    march = body["rows"][0]["cells"][2]
    assert (march["period"], march["state"], march["open_tasks"], march["unposted_entries"]) == (
        "2026-03", "open", 2, 0)
    role_grant(actor=None, user=people["ctl"], entity=world.other, role="viewer")
    body = client.get(f"/api/v1/close/dashboard/?organisation={world.org.code}&fiscal_year=FY2026").json()
    assert [(r["entity_code"], r["may_close"]) for r in body["rows"]] == [(world.entity.code, True),
                                                                         (world.other.code, False)]
    other_org = build_world("THIRD").org
    assert client.get(f"/api/v1/close/dashboard/?organisation={other_org.code}&fiscal_year=FY2026").status_code == 404
