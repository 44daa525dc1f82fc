"""Soft-closing warns (issue #15 item 5): unposted entries, open required close tasks and lapsed
reconciliations are listed and the soft-close needs a confirmation (force) and a reason, which is
recorded — in the service, the API, the admin close grid and the close_period command."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ledger.services.entries import journal_entry_create, journal_entry_create_and_post
from periods.errors import ReasonRequiredError, SoftCloseUnconfirmedError
from periods.models import EntityPeriod
from periods.services import checklist, reconciliation
from periods.services.transitions import entity_period_soft_close
from tests.conditional import post_if_match
from tests.factories import user_with_role
from tests.periods.helpers import state

pytestmark = pytest.mark.django_db

CONFIRM = "/admin/periods/entityperiod/grid/confirm/"


@pytest.fixture
def people(world):
    return {"prep": user_with_role(world.entity, "preparer", username="pat"),
            "rev": user_with_role(world.entity, "approver", username="rita"),
            "ctl": user_with_role(world.entity, "controller", username="carl")}


@pytest.fixture
def open_items(world, people):
    """March of ACME-DE with a draft, an open required task and a lapsed reconciliation."""
    ep = world.entity_period("2026-03")
    draft = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    template = checklist.checklist_template_create(actor=None, organisation=world.org, name="Month end", items=[
        {"title": "Bank reconciliation", "required": True, "due_offset_days": 3}])
    task = checklist.checklist_instantiate(actor=None, entity_period_id=ep.pk, template_id=template.pk)[0]
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    rec = reconciliation.reconciliation_prepare(actor=people["prep"], entity_period_id=ep.pk,
                                                account_id=world.acc("1200"), statement_balance=100)
    reconciliation.reconciliation_review(actor=people["rev"], reconciliation_id=rec.pk)
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("5"))  # lapses the sign-off
    return {"ep": ep, "draft": draft, "task": task, "rec": rec}


def listed(exc) -> list[tuple]:
    return [(e.field, e.code, e.value) for e in exc.errors]


def test_soft_close_with_open_items_is_a_409_listing_them_and_changes_nothing(world, open_items):
    before = state()
    with pytest.raises(SoftCloseUnconfirmedError) as exc:
        entity_period_soft_close(actor=None, entity_period_id=open_items["ep"].pk, reason="month end")
    assert (exc.value.code, exc.value.status) == ("soft_close_unconfirmed", 409)
    assert listed(exc.value) == [("entries", "draft", open_items["draft"].pk), ("tasks", "open", open_items["task"].pk),
                                 ("reconciliations", "lapsed", open_items["rec"].pk)]
    assert state() == before


def test_force_needs_a_reason(world, open_items):
    before = state()
    with pytest.raises(ReasonRequiredError):
        entity_period_soft_close(actor=None, entity_period_id=open_items["ep"].pk, force=True, reason="  ")
    assert state() == before


def test_force_with_a_reason_soft_closes_and_records_the_reason_and_what_was_open(world, open_items, people):
    ep = entity_period_soft_close(actor=people["ctl"], entity_period_id=open_items["ep"].pk, force=True,
                                  reason="accruals come next week")
    ep = EntityPeriod.objects.get(pk=ep.pk)
    assert (ep.state, ep.changed_by_id) == ("soft_closed", people["ctl"].pk)
    assert ep.reason.startswith("accruals come next week\nSoft-closed despite: ")
    assert f"Entry {open_items['draft'].pk}" in ep.reason and "Bank reconciliation: open" in ep.reason
    assert "Reconciliation of 1200: lapsed" in ep.reason
    assert ep.history.first().history_change_reason == "soft-closed despite 3 open items: accruals come next week"


def test_a_clean_period_soft_closes_without_force(world):
    ep = entity_period_soft_close(actor=None, entity_period_id=world.entity_period("2026-02").pk)
    assert ep.state == "soft_closed"


def test_api_answers_409_with_the_list_unless_force_and_reason(client, world, open_items, people):
    client.force_login(people["ctl"])
    url = f"/api/v1/entity-periods/{open_items['ep'].pk}/soft-close/"
    before = state()
    resp = post_if_match(client, url, {"reason": "month end"}, content_type="application/json")
    assert resp.status_code == 409 and resp["Content-Type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == "soft_close_unconfirmed"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("entries", "draft"), ("tasks", "open"),
                                                                 ("reconciliations", "lapsed")]
    resp = post_if_match(client, url, {"force": True}, content_type="application/json")
    assert resp.status_code == 422 and resp.json()["code"] == "reason_required"
    assert state() == before
    resp = post_if_match(client, url, {"force": True, "reason": "accruals next week"}, content_type="application/json")
    assert resp.status_code == 200 and resp.json()["state"] == "soft_closed"
    assert resp.json()["reason"].startswith("accruals next week\nSoft-closed despite: ")


def test_admin_confirmation_lists_the_items_and_needs_a_tick_and_a_reason(client, world, open_items, people):
    ctl = people["ctl"]
    ctl.is_staff = True
    ctl.save()
    client.force_login(ctl)
    cell = {"cell": [open_items["ep"].pk], "to": "soft_closed"}
    page = client.post(CONFIRM, cell).content.decode()
    assert "Still unposted or open in these periods" in page
    assert f"Entry {open_items['draft'].pk}" in page and "Bank reconciliation: open" in page
    assert "Reconciliation of 1200: lapsed" in page and 'name="force"' in page
    before = state()
    page = client.post(CONFIRM, {**cell, "confirmed": "yes", "reason": "accruals next week"}).content.decode()
    assert "Tick the box to soft-close despite" in page and "Nothing was changed." in page
    page = client.post(CONFIRM, {**cell, "confirmed": "yes", "force": "yes"}).content.decode()
    assert "Tick the box to soft-close despite" in page
    assert state() == before
    resp = client.post(CONFIRM, {**cell, "confirmed": "yes", "force": "yes", "reason": "accruals next week"})
    assert resp.status_code == 302
    ep = EntityPeriod.objects.get(pk=open_items["ep"].pk)
    assert ep.state == "soft_closed" and ep.reason.startswith("accruals next week")


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_close_period_lists_the_items_and_needs_force_and_reason(world, open_items):
    args = ("close_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-03")
    before = state()
    with pytest.raises(CommandError) as exc:
        run(*args)
    text = str(exc.value)
    assert "3 items of ACME-DE 2026-03 unposted or open" in text and f"Entry {open_items['draft'].pk}" in text
    assert "Bank reconciliation: open" in text and "Reconciliation of 1200: lapsed" in text
    with pytest.raises(CommandError, match=r"--force needs --reason"):
        run(*args, "--force")
    assert state() == before
    assert run(*args, "--force", "--reason", "accruals next week").strip() == "ACME-DE 2026-03: soft-closed"
    assert world.entity_period("2026-03").reason.startswith("accruals next week\nSoft-closed despite: ")
