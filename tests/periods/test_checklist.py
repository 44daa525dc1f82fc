"""Close checklist and reconciliation sign-offs, and how they gate the lock."""
from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from periods.models import LockOverride
from periods.services import checklist
from sheshi.errors import SheshiError
from tests.factories import user_with_role
from tests.locking import lock_through
from tests.periods.helpers import state

pytestmark = pytest.mark.django_db

ITEMS = [
    {"title": "Bank reconciliation", "required": True, "default_owner_role": "preparer", "due_offset_days": 3},
    {"title": "Accruals review", "required": True, "default_owner_role": "controller", "due_offset_days": 5},
    {"title": "Tidy the shared drive", "required": False, "due_offset_days": -2},
]


@pytest.fixture
def people(world):
    return {"prep": user_with_role(world.entity, "preparer", username="pat"),
            "rev": user_with_role(world.entity, "approver", username="rita"),
            "ctl": user_with_role(world.entity, "controller", username="carl")}


@pytest.fixture
def tasks(world):
    template = checklist.checklist_template_create(actor=None, organisation=world.org, name="Month end", items=ITEMS)
    return checklist.checklist_instantiate(actor=None, entity_period_id=world.entity_period("2026-03").pk,
                                           template_id=template.pk)


def test_instantiate_copies_the_template_with_due_dates_and_is_idempotent(world, tasks):
    assert [(t.title, t.required, t.owner_role, t.due_date, t.status) for t in tasks] == [
        ("Bank reconciliation", True, "preparer", date(2026, 4, 3), "open"),
        ("Accruals review", True, "controller", date(2026, 4, 5), "open"),
        ("Tidy the shared drive", False, "", date(2026, 3, 29), "open"),
    ]
    template_id = tasks[0].template_item.template_id
    again = checklist.checklist_instantiate(actor=None, entity_period_id=world.entity_period("2026-03").pk,
                                            template_id=template_id)
    assert [t.pk for t in again] == [t.pk for t in tasks]


def test_completing_a_task_records_who_when_and_the_evidence(world, tasks, people, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    task = checklist.checklist_task_assign(actor=people["ctl"], task_id=tasks[0].pk, owner=people["prep"])
    done = checklist.checklist_task_set_status(actor=people["prep"], task_id=task.pk, status="done",
                                               evidence=ContentFile(b"bank statement 31.03", name="bank.pdf"))
    done.refresh_from_db()
    assert (done.status, done.completed_by_id) == ("done", people["prep"].pk)
    assert done.completed_at is not None
    assert done.evidence.name.startswith("close-evidence/") and done.evidence.name.endswith(".pdf")
    with default_storage.open(done.evidence.name) as f:
        assert f.read() == b"bank statement 31.03"


def test_someone_who_is_neither_owner_nor_controller_cannot_complete_a_task(world, tasks, people):
    checklist.checklist_task_assign(actor=None, task_id=tasks[0].pk, owner=people["ctl"])
    before = state()
    with pytest.raises(SheshiError) as exc:
        checklist.checklist_task_set_status(actor=people["prep"], task_id=tasks[0].pk, status="done")
    assert exc.value.code == "permission_denied"
    assert state() == before


def test_lock_is_refused_while_a_required_task_is_open(world, tasks):
    ep = world.entity_period("2026-03")
    checklist.checklist_task_set_status(actor=None, task_id=tasks[0].pk, status="done")
    before = state()
    with pytest.raises(SheshiError) as exc:
        lock_through(actor=None, entity_period_id=ep.pk)
    assert exc.value.code == "close_checklist_incomplete"
    # the optional task does not block; only the open required one does
    assert [(e.field, e.message, e.value) for e in exc.value.errors] == [
        ("tasks", "Close task “Accruals review” is still open.", tasks[1].pk)]
    assert state() == before


def test_lock_passes_once_required_tasks_are_done(world, tasks):
    for t in tasks[:2]:
        checklist.checklist_task_set_status(actor=None, task_id=t.pk, status="done")
    snap = lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    assert snap.entity_period.state == "locked"
    assert LockOverride.objects.count() == 0


def test_controller_overrides_with_a_reason_and_it_is_recorded(world, tasks, people):
    ep = world.entity_period("2026-03")
    snap = lock_through(actor=people["ctl"], entity_period_id=ep.pk, override_reason="auditor on site")
    override = LockOverride.objects.get(entity_period=ep)
    assert (override.overridden_by_id, override.reason) == (people["ctl"].pk, "auditor on site")
    assert override.blockers == [
        {"kind": "task", "id": tasks[0].pk, "title": "Bank reconciliation", "state": "open"},
        {"kind": "task", "id": tasks[1].pk, "title": "Accruals review", "state": "open"},
    ]
    assert snap.entity_period.state == "locked"


def test_blank_override_reason_does_not_override(world, tasks, people):
    before = state()
    with pytest.raises(SheshiError) as exc:
        lock_through(actor=people["ctl"], entity_period_id=world.entity_period("2026-03").pk,
                           override_reason="   ")
    assert exc.value.code == "close_checklist_incomplete"
    assert state() == before


def test_task_of_a_locked_period_cannot_change(world, tasks):
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk, override_reason="r")
    before = state()
    with pytest.raises(SheshiError) as exc:
        checklist.checklist_task_set_status(actor=None, task_id=tasks[0].pk, status="done")
    assert exc.value.code == "period_wrong_state"
    assert state() == before


def test_due_dates_follow_the_period_end(world):
    template = checklist.checklist_template_create(actor=None, organisation=world.org, name="Q",
                                                  items=[{"title": "x", "due_offset_days": 10}])
    (task,) = checklist.checklist_instantiate(actor=None, entity_period_id=world.entity_period("2026-02").pk,
                                              template_id=template.pk)
    assert task.due_date == date(2026, 2, 28) + timedelta(days=10)
