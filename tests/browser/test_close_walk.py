"""The controller's close walk in a real browser (issue #16): a preparer completes the close
tasks and prepares the bank reconciliation with a reconciling item; a reviewer signs the task off
and reviews the reconciliation; the controller is told which task still blocks the lock, then
soft-closes (past the warning, with a reason) and locks the month from the close dashboard."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from ledger.inputs import EntryInput, LineInput
from ledger.services.entries import journal_entry_create, journal_entry_create_and_post
from periods.models import AccountReconciliation, ChecklistTask, EntityPeriod
from periods.services import checklist
from periods.services import reconciliation as recs
from tests.browser.test_journal_walk import Walk
from tests.factories import user_with_role
from tests.ledger.helpers import build_world
from tests.locking import lock_through

pytestmark = pytest.mark.browser


def staff(world, username: str, role: str):
    user = user_with_role(world.entity, role, username=username)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["ledger", "periods"],
                                                         codename__startswith="view_"))
    return user


@pytest.fixture
def close_setting(transactional_db):
    """CLOSE-DE: January and February 2026 locked; March has bank receipts of 1,250.00, a draft
    left over, two close tasks (one asking for review) and the bank account to reconcile."""
    world = build_world("CLOSE")
    preparer = staff(world, "preparer", "preparer")
    staff(world, "reviewer", "approver")
    staff(world, "controller", "controller")
    lock_through(actor=None, entity_period_id=world.entity_period("2026-02").pk)
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("1250", day=date(2026, 3, 20)))
    journal_entry_create(actor=preparer, entity=world.entity, entry=EntryInput(
        entry_date=date(2026, 3, 31), description="Bank fee (to post in April)", lines=[
            LineInput(account_id=world.acc("5100"), amount=Decimal(15)),
            LineInput(account_id=world.acc("1100"), amount=Decimal(-15))]))
    checklist.checklist_template_create(actor=None, organisation=world.org, name="Month end", items=[
        {"title": "Bank reconciliation"}, {"title": "Accruals review", "requires_review": True}])
    ep = world.entity_period("2026-03")
    for task in checklist.checklist_tasks_create_from_templates(actor=None, entity_period_id=ep.pk):
        checklist.checklist_task_assign(actor=None, task_id=task.pk, owner=preparer)
    (rec,) = recs.reconciliation_require(actor=None, entity_period_id=ep.pk, account_ids=[world.acc("1200")])
    return world, ep, rec


def test_tasks_reconciliation_soft_close_and_lock_from_the_dashboard(site, driver, close_setting):
    world, ep, rec = close_setting
    walk = Walk(driver, site)
    tasks = {t.title: t for t in ChecklistTask.objects.filter(entity_period=ep)}

    # The preparer completes both tasks and prepares the reconciliation.
    walk.log_in("preparer")
    walk.open(f"/admin/periods/checklisttask/?entity_period__id__exact={ep.pk}&progress=unfinished",
              "open close tasks")
    for task in tasks.values():
        walk.css(f"input[name=_selected_action][value='{task.pk}']").click()
    from selenium.webdriver.support.ui import Select

    Select(walk.css("select[name=action]")).select_by_value("mark_done")
    walk.click(walk.css("button[name=index]"), "mark tasks done")
    assert walk.messages() == ["2 task(s) marked done."]

    walk.open(f"/admin/periods/accountreconciliation/{rec.pk}/change/", "reconciliation page")
    assert walk.css("#rec-gl").text == "1,250.00"
    walk.css("#id_statement_balance").send_keys("1,200.00")
    walk.click(walk.css("#rec-prepare"), "prepare with a difference (refused)")
    assert "leaving 50.00 unexplained" in walk.messages()[0]
    walk.css("#id_description").send_keys("Receipt of 31 March in transit")
    walk.css("#id_amount").send_keys("50")
    walk.click(walk.css("#rec-add-item"), "add reconciling item")
    walk.css("#id_statement_balance").clear()
    walk.css("#id_statement_balance").send_keys("1,200.00")
    walk.click(walk.css("#rec-prepare"), "prepare")
    assert walk.messages() == ["Reconciliation of 1200 is prepared."]
    assert walk.css("#rec-unexplained").text == "0.00"

    # The reviewer signs off the task that asks for review and reviews the reconciliation.
    walk.log_in("reviewer")
    walk.open(f"/admin/periods/checklisttask/{tasks['Accruals review'].pk}/change/", "task page")
    walk.click(walk.css("#task-sign-off"), "sign off task")
    assert walk.messages() == ["Task “Accruals review” is signed off."]
    walk.open(f"/admin/periods/accountreconciliation/{rec.pk}/change/", "reconciliation page (reviewer)")
    walk.click(walk.css("#rec-review"), "review reconciliation")
    assert walk.messages() == ["Reconciliation of 1200 is reviewed."]

    # The controller soft-closes past the draft's warning, then locks March from the dashboard.
    walk.log_in("controller")
    walk.open("/admin/", "admin index")
    walk.click(driver.find_element("link text", "Close dashboard"), "close dashboard")
    cell = f"#cell-{ep.pk}"
    assert walk.css(f"{cell} .count-unposted").text == "1 unposted"
    assert walk.css(f"{cell} .count-tasks").text == "0 open tasks"
    assert walk.css(f"{cell} .count-recs").text == "0 recs to do"
    walk.click(walk.css(f"{cell} button.soft-close"), "soft-close (warned)")
    assert walk.messages()[0].startswith(f"{world.entity.code} 2026-03 still has 1 unposted or open item(s)")
    walk.css(f"{cell} .confirm input[name=force]").click()
    walk.css(f"{cell} .confirm textarea[name=reason]").send_keys("Bank fee is April's; posted there")
    walk.click(walk.css(f"{cell} button.soft-close-force"), "soft-close anyway")
    assert walk.messages() == [f"{world.entity.code} 2026-03 is soft-closed."]
    walk.click(walk.css(f"{cell} button.lock"), "lock (refused: draft)")
    assert walk.messages()[0].startswith(f"{world.entity.code} 2026-03 was not locked: 1 unposted entries remain")
    assert EntityPeriod.objects.get(pk=ep.pk).state == "soft_closed"

    from ledger.services.entries import journal_entry_void

    draft = ep.entity.journal_entries.get(status="draft")
    journal_entry_void(actor=None, entry_id=draft.pk, reason="belongs to April")
    walk.open("/admin/periods/entityperiod/dashboard/", "close dashboard (again)")
    walk.click(walk.css(f"{cell} button.lock"), "lock")
    assert walk.messages() == [f"{world.entity.code} 2026-03 is locked."]
    assert walk.css(f"{cell} .cell-state").text == "Locked"
    assert EntityPeriod.objects.get(pk=ep.pk).state == "locked"
    assert AccountReconciliation.objects.get(pk=rec.pk).status == "reviewed"
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]
    assert errors == []
