"""Recurring journal entries (issue 16) in the admin and over the API: set up on a template,
listed, and generated for a period — through the same services."""
from datetime import date

import pytest
from django.contrib.auth.models import Permission

from ledger.models import EntryStatus, JournalEntry, JournalRecurrence
from ledger.services.entries import journal_entry_create
from ledger.services.recurring import journal_recurrence_create, recurring_entries_generate
from ledger.services.templates import journal_template_create
from periods.services.transitions import entity_period_lock
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def preparer(world):
    user = user_with_role(world.entity, "preparer")
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="ledger"))
    return user


@pytest.fixture
def template(world, preparer):
    draft = journal_entry_create(actor=preparer, entity=world.entity,
                                 entry=world.sale("75", day=date(2026, 12, 15))).entry
    return journal_template_create(actor=preparer, entry_id=draft.pk, name="Licence fee")


def test_the_admin_sets_up_a_recurrence_on_a_template_and_lists_it(client, world, preparer, template):
    client.force_login(preparer)
    ask = client.post("/admin/ledger/journaltemplate/", {"action": "set_up_recurrence",
                                                         "_selected_action": [template.pk]})
    assert "Start period" in ask.content.decode() and JournalRecurrence.objects.count() == 0
    bad = client.post("/admin/ledger/journaltemplate/", {
        "action": "set_up_recurrence", "_selected_action": [template.pk], "confirm_recurrence": "1",
        "start_period": world.period("2026-05").pk, "end_period": world.period("2026-04").pk}, follow=True)
    assert "The recurrence was not set up" in bad.content.decode() and JournalRecurrence.objects.count() == 0
    done = client.post("/admin/ledger/journaltemplate/", {
        "action": "set_up_recurrence", "_selected_action": [template.pk], "confirm_recurrence": "1",
        "start_period": world.period("2026-04").pk, "day_of_month": "15"}, follow=True)
    recurrence = JournalRecurrence.objects.get()
    assert (recurrence.owner_id, recurrence.day_of_month, recurrence.start_period.code, recurrence.end_period) == (
        preparer.pk, 15, "2026-04", None)
    assert "repeats monthly from 2026-04" in done.content.decode()
    listed = client.get("/admin/ledger/journalrecurrence/")
    assert listed.status_code == 200 and "Licence fee" in listed.content.decode()
    recurring_entries_generate(period=world.period("2026-04"))
    page = client.get(f"/admin/ledger/journalrecurrence/{recurrence.pk}/change/")
    assert page.status_code == 200 and "2026-04" in page.content.decode() and "Generated" in page.content.decode()


def test_a_viewer_sees_no_recurrence_action(client, world, template):
    viewer = user_with_role(world.entity, "viewer")
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(*Permission.objects.filter(content_type__app_label="ledger",
                                                           codename__startswith="view"))
    client.force_login(viewer)
    page = client.get("/admin/ledger/journaltemplate/")
    assert page.status_code == 200 and "set_up_recurrence" not in page.content.decode()


def test_the_api_sets_up_lists_and_generates_recurrences(client, world, preparer, template):
    client.force_login(preparer)
    created = client.post("/api/v1/journal-recurrences/", {"template": template.pk, "start_period": "2026-04",
                                                           "end_period": "2026-06"},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    assert (created.json()["owner"], created.json()["start_period"], created.json()["day_of_month"]) == (
        preparer.username, "2026-04", None)
    listed = client.get("/api/v1/journal-recurrences/").json()["results"]
    assert [r["id"] for r in listed] == [created.json()["id"]]
    body = {"entity": world.entity.code, "period": "2026-04"}
    first = client.post("/api/v1/journal-recurrences/generate/", body, content_type="application/json")
    again = client.post("/api/v1/journal-recurrences/generate/", body, content_type="application/json")
    entry = JournalEntry.objects.exclude(pk=template.source_entry_id).get()
    assert [(o["status"], o["entry_id"]) for o in first.json()] == [("generated", entry.pk)]
    assert [(o["status"], o["entry_id"]) for o in again.json()] == [("already_generated", entry.pk)]
    assert (entry.status, entry.entry_date, entry.created_by_id) == (EntryStatus.DRAFT, date(2026, 4, 30), preparer.pk)
    unknown = client.post("/api/v1/journal-recurrences/", {"template": template.pk, "start_period": "2031-01"},
                          content_type="application/json")
    assert (unknown.status_code, unknown.json()["errors"][0]["field"]) == (400, "start_period")
    assert JournalRecurrence.objects.count() == 1


def test_the_api_reports_a_locked_period_as_skipped_not_as_an_error(client, world, preparer, template):
    journal_recurrence_create(actor=preparer, template_id=template.pk, start_period_id=world.period("2026-01").pk)
    entity_period_lock(actor=None, entity_period_id=world.entity_period("2026-01").pk)
    client.force_login(preparer)
    answer = client.post("/api/v1/journal-recurrences/generate/", {"entity": world.entity.code, "period": "2026-01"},
                         content_type="application/json")
    assert answer.status_code == 200
    assert [(o["status"], o["reason"]) for o in answer.json()] == [("skipped", "period 2026-01 is locked for ACME-DE")]
    assert JournalEntry.objects.count() == 1  # the template's source only
