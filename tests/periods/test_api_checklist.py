"""The close checklist over the API: templates (checklist_template_create) and tasks
(checklist_instantiate, checklist_task_assign, checklist_task_set_status)."""
import pytest

from periods.models import ChecklistTask, ChecklistTemplate
from tests.conditional import post_if_match
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

TEMPLATE = {"name": "Month end", "items": [
    {"title": "Bank reconciliation", "default_owner_role": "preparer", "due_offset_days": 3},
    {"title": "Tidy the drive", "required": False, "due_offset_days": -2}]}


@pytest.fixture
def people(world):
    return {"prep": user_with_role(world.entity, "preparer", username="pat"),
            "ctl": user_with_role(world.entity, "controller", username="carl")}


def post(client, url, body):
    return post_if_match(client, url, body, content_type="application/json")


def test_a_controller_sets_up_the_close_and_the_owner_finishes_a_task(client, world, people):
    client.force_login(people["ctl"])
    resp = post(client, "/api/v1/checklist-templates/", {"organisation": world.org.pk, **TEMPLATE})
    assert resp.status_code == 201, resp.json()
    assert [i["title"] for i in resp.json()["items"]] == ["Bank reconciliation", "Tidy the drive"]
    dup = post(client, "/api/v1/checklist-templates/", {"organisation": world.org.pk, **TEMPLATE})
    assert dup.status_code == 409 and dup.json()["code"] == "checklist_template_name_taken"
    ep = world.entity_period("2026-03").pk
    tasks = post(client, "/api/v1/checklist-tasks/instantiate/", {"entity_period": ep, "template": resp.json()["id"]})
    assert tasks.status_code == 200, tasks.json()
    assert [(t["title"], t["due_date"]) for t in tasks.json()] == [("Bank reconciliation", "2026-04-03"),
                                                                   ("Tidy the drive", "2026-03-29")]
    task_id = tasks.json()[0]["id"]
    assigned = post(client, f"/api/v1/checklist-tasks/{task_id}/assign/", {"owner": "pat"})
    assert assigned.status_code == 200 and assigned.json()["owner"] == "pat"
    client.force_login(people["prep"])
    done = post(client, f"/api/v1/checklist-tasks/{task_id}/status/", {"status": "done"})
    assert done.status_code == 200, done.json()
    assert (done.json()["status"], done.json()["completed_by"]) == ("done", "pat")


def test_a_preparer_cannot_write_templates_or_move_someone_elses_task(client, world, people):
    client.force_login(people["prep"])
    resp = post(client, "/api/v1/checklist-templates/", {"organisation": world.org.pk, **TEMPLATE})
    assert resp.status_code == 403 and not ChecklistTemplate.objects.exists()
    from periods.services.checklist import checklist_instantiate, checklist_template_create

    template = checklist_template_create(actor=None, organisation=world.org, name="t", items=[{"title": "x"}])
    task = checklist_instantiate(actor=None, entity_period_id=world.entity_period("2026-03").pk,
                                 template_id=template.pk)[0]
    resp = post(client, f"/api/v1/checklist-tasks/{task.pk}/status/", {"status": "done"})
    assert resp.status_code == 403 and ChecklistTask.objects.get(pk=task.pk).status == "open"


def test_assigning_to_a_non_member_is_a_field_error(client, world, people):
    from periods.services.checklist import checklist_instantiate, checklist_template_create

    template = checklist_template_create(actor=None, organisation=world.org, name="t", items=[{"title": "x"}])
    task = checklist_instantiate(actor=None, entity_period_id=world.entity_period("2026-03").pk,
                                 template_id=template.pk)[0]
    client.force_login(people["ctl"])
    resp = post(client, f"/api/v1/checklist-tasks/{task.pk}/assign/", {"owner": "nobody"})
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == "not_a_member"
