"""Close checklist and reconciliation sign-offs, and how they gate the lock."""
import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ledger.models import JournalLine
from ledger.services import journal_entry_create_and_post
from periods import checklist
from periods.models import AccountReconciliation, LockOverride, PeriodLockSnapshot
from periods.selectors import close_blockers, reconciliation_list
from sheshi.errors import SheshiError
from tests.factories import user_with_role
from tests.locking import lock_through
from tests.periods.helpers import raw, refused, state

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


def raw_post_sale(world, amount: str, account: str = "1200") -> int:
    """Post an entry with raw SQL as the application's role (the posting trigger keeps balances)."""
    (entry_id,) = raw("""
        INSERT INTO ledger_journalentry (organisation_id, entity_id, period_id, entry_date, description, source,
            status, created_at, request_hash)
        VALUES (%s, %s, %s, '2026-03-20', 'raw', 'manual', 'draft', now(), '') RETURNING id""",
                      [world.org.pk, world.entity.pk, world.period("2026-03").pk])[0]
    for no, (acc, amt) in enumerate([(account, Decimal(amount)), ("4100", -Decimal(amount))], start=1):
        raw("""INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
                   currency, amount, rate, functional_amount, dimensions, memo, source_raw)
               VALUES (%s, %s, %s, %s, %s, %s, 'EUR', %s, 1, %s, '{}', '', '')""",
            [world.org.pk, world.entity.pk, world.period("2026-03").pk, entry_id, no, world.acc(acc), amt, amt])
    raw("UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = %s", [entry_id])
    return entry_id


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
        ("tasks", "Accruals review: open", tasks[1].pk)]
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


# Reconciliations -------------------------------------------------------------------------------

def test_prepare_pins_balance_line_count_and_hash_of_the_lines(world, people):
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("23.45"))
    rec = checklist.reconciliation_prepare(actor=people["prep"], entity_period_id=world.entity_period("2026-03").pk,
                                           account_id=world.acc("1200"))
    lines = JournalLine.objects.filter(entity=world.entity, account_id=world.acc("1200")).order_by("id")
    expected = hashlib.sha256("\n".join(f"{ln.pk}:{ln.currency}:{ln.amount}:{ln.functional_amount}"
                                        for ln in lines).encode()).hexdigest()
    assert (rec.status, rec.pinned_functional_net, rec.pinned_line_count, rec.pinned_lines_sha256) == \
        ("prepared", Decimal("123.4500"), 2, expected)


def test_preparer_cannot_review_their_own_sign_off(world, people):
    ep = world.entity_period("2026-03")
    user_with_role(world.entity, "approver")
    from sheshi.access.services import role_grant

    role_grant(actor=None, user=people["prep"], entity=world.entity, role="approver")
    rec = checklist.reconciliation_prepare(actor=people["prep"], entity_period_id=ep.pk, account_id=world.acc("1200"))
    before = state()
    with pytest.raises(SheshiError) as exc:
        checklist.reconciliation_review(actor=people["prep"], reconciliation_id=rec.pk)
    assert (exc.value.code, exc.value.status) == ("segregation_of_duties", 403)
    refused("reconciliation_reviewer_not_preparer",
            "UPDATE periods_accountreconciliation SET status = 'reviewed', reviewed_by_id = prepared_by_id, "
            "reviewed_at = now() WHERE id = %s", [rec.pk])
    assert state() == before


def test_review_of_a_balance_that_moved_since_preparation_is_refused(world, people):
    ep = world.entity_period("2026-03")
    rec = checklist.reconciliation_prepare(actor=people["prep"], entity_period_id=ep.pk, account_id=world.acc("1200"))
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("5"))
    before = state()
    with pytest.raises(SheshiError) as exc:
        checklist.reconciliation_review(actor=people["rev"], reconciliation_id=rec.pk)
    assert exc.value.code == "reconciliation_lapsed"
    assert state() == before


def test_a_raw_sql_posting_lapses_a_reviewed_sign_off_and_blocks_the_lock(world, people):
    ep = world.entity_period("2026-03")
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    rec = checklist.reconciliation_prepare(actor=people["prep"], entity_period_id=ep.pk, account_id=world.acc("1200"))
    checklist.reconciliation_review(actor=people["rev"], reconciliation_id=rec.pk)
    assert reconciliation_list().get(pk=rec.pk).lapsed is False
    assert close_blockers(entity_period_id=ep.pk) == []

    raw_post_sale(world, "7.5")
    seen = reconciliation_list().get(pk=rec.pk)
    assert (seen.status, seen.lapsed, seen.current_functional_net, seen.current_line_count) == \
        ("reviewed", True, Decimal("107.5000"), 2)
    before = state()
    with pytest.raises(SheshiError) as exc:
        lock_through(actor=None, entity_period_id=ep.pk)
    assert [(e.message, e.code) for e in exc.value.errors] == [("Reconciliation of 1200: lapsed", "lapsed")]
    assert state() == before

    # Redo: prepare again (re-pins), another person reviews, the period locks.
    checklist.reconciliation_prepare(actor=people["prep"], entity_period_id=ep.pk, account_id=world.acc("1200"))
    checklist.reconciliation_review(actor=people["rev"], reconciliation_id=rec.pk)
    lock_through(actor=None, entity_period_id=ep.pk)
    assert PeriodLockSnapshot.objects.filter(entity_period=ep).count() == 1


def test_a_change_that_nets_to_zero_still_lapses_the_sign_off(world, people):
    ep = world.entity_period("2026-03")
    rec = checklist.reconciliation_prepare(actor=people["prep"], entity_period_id=ep.pk, account_id=world.acc("1100"))
    checklist.reconciliation_review(actor=people["rev"], reconciliation_id=rec.pk)
    raw_post_sale(world, "40", account="1100")
    raw_post_sale(world, "-40", account="1100")
    seen = reconciliation_list().get(pk=rec.pk)
    assert (seen.current_functional_net, seen.current_line_count, seen.lapsed) == (Decimal("0"), 2, True)


def test_required_reconciliation_not_yet_prepared_blocks_the_lock(world):
    ep = world.entity_period("2026-03")
    (rec,) = checklist.reconciliation_require(actor=None, entity_period_id=ep.pk, account_ids=[world.acc("2100")])
    assert close_blockers(entity_period_id=ep.pk) == [
        {"kind": "reconciliation", "id": rec.pk, "title": "Reconciliation of 2100", "state": "open"}]


def test_the_system_cannot_sign_off(world):
    before = state()
    with pytest.raises(SheshiError) as exc:
        checklist.reconciliation_prepare(actor=None, entity_period_id=world.entity_period("2026-03").pk,
                                         account_id=world.acc("1200"))
    assert exc.value.code == "permission_denied"
    assert state() == before
    assert AccountReconciliation.objects.count() == 0


def test_reconciliation_api_shows_lapse_and_review(client, world, people):
    ep = world.entity_period("2026-03")
    client.force_login(people["prep"])
    resp = client.post("/api/v1/reconciliations/prepare/", {"entity_period": ep.pk, "account": world.acc("1200")},
                       content_type="application/json")
    assert resp.status_code == 200 and resp.json()["status"] == "prepared"
    rec_id = resp.json()["id"]
    assert client.post(f"/api/v1/reconciliations/{rec_id}/review/").json()["code"] == "permission_denied"
    client.force_login(people["rev"])
    resp = client.post(f"/api/v1/reconciliations/{rec_id}/review/")
    assert resp.status_code == 200 and (resp.json()["status"], resp.json()["lapsed"]) == ("reviewed", False)
    raw_post_sale(world, "1")
    body = client.get(f"/api/v1/reconciliations/?entity_period={ep.pk}").json()["results"]
    assert [(r["account_code"], r["lapsed"], r["pinned_functional_net"], r["current_functional_net"])
            for r in body] == [("1200", True, "0.0000", "1.0000")]


def test_due_dates_follow_the_period_end(world):
    template = checklist.checklist_template_create(actor=None, organisation=world.org, name="Q",
                                                  items=[{"title": "x", "due_offset_days": 10}])
    (task,) = checklist.checklist_instantiate(actor=None, entity_period_id=world.entity_period("2026-02").pk,
                                              template_id=template.pk)
    assert task.due_date == date(2026, 2, 28) + timedelta(days=10)
