"""Journal templates (issue 16): an entry's lines saved under a name; new drafts started from them
through journal_entry_create — in the service, the admin and the API."""
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from ledger.errors import TemplateNameTakenError
from ledger.models import EntryStatus, JournalEntry, JournalTemplate
from ledger.services.entries import journal_entry_create, journal_entry_create_and_post
from ledger.services.templates import journal_entry_create_from_template, journal_template_create
from sheshi.errors import PermissionDenied, ValidationFailed
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
def rent(world):
    return journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("1500")).entry


def test_a_template_keeps_the_entrys_lines_and_starts_a_new_draft(world, preparer, rent):
    template = journal_template_create(actor=preparer, entry_id=rent.pk, name="Monthly rent")
    assert (template.entity_id, template.source_entry_id, len(template.lines)) == (world.entity.pk, rent.pk, 2)
    entry = journal_entry_create_from_template(actor=preparer, template_id=template.pk, entry_date=date(2026, 4, 30))
    assert (entry.status, entry.period.code, entry.created_by_id, entry.description) == (
        EntryStatus.DRAFT, "2026-04", preparer.pk, rent.description)
    assert list(entry.lines.order_by("line_no").values_list("account__code", "amount")) == [
        ("1200", Decimal("1500.0000")), ("4100", Decimal("-1500.0000"))]


def test_a_name_is_used_once_per_entity_and_a_viewer_saves_none(world, preparer, rent):
    journal_template_create(actor=preparer, entry_id=rent.pk, name="Monthly rent")
    with pytest.raises(TemplateNameTakenError):
        journal_template_create(actor=preparer, entry_id=rent.pk, name="Monthly rent")
    with pytest.raises(PermissionDenied):
        journal_template_create(actor=user_with_role(world.entity, "viewer"), entry_id=rent.pk, name="Other")
    assert JournalTemplate.objects.count() == 1


def test_the_admin_saves_an_entry_as_a_template_and_starts_a_draft_from_it(client, world, preparer, rent):
    client.force_login(preparer)
    page = client.post("/admin/ledger/journalentry/", {"action": "save_as_template", "_selected_action": [rent.pk]})
    assert "Template name" in page.content.decode() and JournalTemplate.objects.count() == 0
    client.post("/admin/ledger/journalentry/", {"action": "save_as_template", "_selected_action": [rent.pk],
                                                "confirm_template": "1", "name": "Monthly rent"})
    template = JournalTemplate.objects.get(name="Monthly rent")
    ask = client.post("/admin/ledger/journaltemplate/", {"action": "new_entry", "_selected_action": [template.pk]})
    assert "Entry date" in ask.content.decode()
    done = client.post("/admin/ledger/journaltemplate/", {"action": "new_entry", "_selected_action": [template.pk],
                                                         "confirm_use": "1", "entry_date": "2026-05-31"})
    entry = JournalEntry.objects.exclude(pk=rent.pk).get()
    assert done.status_code == 302 and done["Location"] == f"/admin/ledger/journalentry/{entry.pk}/change/"
    assert (entry.status, entry.period.code) == (EntryStatus.DRAFT, "2026-05")


def test_a_template_from_a_closed_account_is_refused_as_a_new_entry_would_be(world, preparer):
    draft = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("5")).entry
    template = journal_template_create(actor=preparer, entry_id=draft.pk, name="Sale")
    world.accounts["4100"].is_active = False
    world.accounts["4100"].save(update_fields=["is_active"])
    with pytest.raises(ValidationFailed) as refused:
        journal_entry_create_from_template(actor=preparer, template_id=template.pk, entry_date=date(2026, 4, 1))
    assert "does not take postings" in str(refused.value.errors[0].message)
    assert JournalEntry.objects.count() == 1


def test_the_api_saves_and_uses_templates(client, world, preparer, rent):
    client.force_login(preparer)
    created = client.post("/api/v1/journal-templates/", {"entry": rent.pk, "name": "Monthly rent"},
                          content_type="application/json")
    assert created.status_code == 201 and created.json()["entity"] == world.entity.code
    tid = created.json()["id"]
    assert [t["name"] for t in client.get("/api/v1/journal-templates/").json()["results"]] == ["Monthly rent"]
    used = client.post(f"/api/v1/journal-templates/{tid}/new-entry/", {"entry_date": "2026-06-30"},
                       content_type="application/json")
    assert used.status_code == 201 and (used.json()["status"], used.json()["period"]) == ("draft", "2026-06")
    again = client.post("/api/v1/journal-templates/", {"entry": rent.pk, "name": "Monthly rent"},
                        content_type="application/json")
    assert (again.status_code, again.json()["code"]) == (409, "template_name_taken")
