"""Drafts over the API: PATCH /journal-entries/{id}/ (journal_entry_update) conditional on the
entry's ETag, and POST /journal-entries/{id}/void/ (journal_entry_void) with a reason."""
import pytest

from audit.models import AuditEvent
from ledger.models import EntryStatus, JournalEntry, JournalLine
from tests.conditional import post_if_match
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

URL = "/api/v1/journal-entries/"


def draft_body(world, amount="125.5000"):
    return {"entity": world.entity.code, "entry_date": "2026-03-10", "description": "API draft",
            "lines": [{"account": "1200", "amount": amount, "memo": "first"},
                      {"account": "4100", "amount": f"-{amount}"}]}


@pytest.fixture
def preparer(world):
    return user_with_role(world.entity, "preparer")


@pytest.fixture
def draft(client, world, preparer):
    client.force_login(preparer)
    resp = client.post(URL, draft_body(world), content_type="application/json")
    assert resp.status_code == 201, resp.json()
    return resp.json()["id"]


def etag(client, entry_id):
    resp = client.get(f"{URL}{entry_id}/")
    assert resp.status_code == 200
    return resp["ETag"]


def patch(client, entry_id, body, tag=None):
    headers = {"If-Match": tag} if tag else {}
    return client.patch(f"{URL}{entry_id}/", body, content_type="application/json", headers=headers)


def test_get_gives_an_etag_that_changes_with_the_entry(client, draft):
    first = etag(client, draft)
    assert first.startswith('"') and first == etag(client, draft)
    assert patch(client, draft, {"description": "renamed"}, first).status_code == 200
    assert etag(client, draft) != first


def test_patch_with_the_current_etag_edits_the_header_and_keeps_the_lines(client, draft):
    before = list(JournalLine.objects.filter(entry_id=draft).order_by("line_no")
                  .values_list("account_id", "amount", "memo"))
    resp = patch(client, draft, {"description": "Edited", "reference": "INV-7"}, etag(client, draft))
    assert resp.status_code == 200, resp.json()
    assert (resp.json()["description"], resp.json()["reference"]) == ("Edited", "INV-7")
    assert resp["ETag"] == etag(client, draft)
    assert list(JournalLine.objects.filter(entry_id=draft).order_by("line_no")
                .values_list("account_id", "amount", "memo")) == before


def test_patch_replaces_every_line_when_lines_are_sent(client, world, draft):
    new_lines = [{"account": "1200", "amount": "7.0000"}, {"account": "1200", "amount": "3.0000"},
                 {"account": "4100", "amount": "-10.0000"}]
    resp = patch(client, draft, {"lines": new_lines}, etag(client, draft))
    assert resp.status_code == 200, resp.json()
    assert [ln["amount"] for ln in resp.json()["lines"]] == ["7.0000", "3.0000", "-10.0000"]
    assert JournalLine.objects.filter(entry_id=draft).count() == 3


def test_a_new_date_moves_the_draft_to_that_dates_period(client, draft):
    resp = patch(client, draft, {"entry_date": "2026-04-02"}, etag(client, draft))
    assert resp.status_code == 200, resp.json()
    assert (resp.json()["entry_date"], resp.json()["period"]) == ("2026-04-02", "2026-04")


def test_a_stale_etag_is_412_and_changes_nothing(client, draft):
    stale = etag(client, draft)
    assert patch(client, draft, {"description": "first writer"}, stale).status_code == 200
    resp = patch(client, draft, {"description": "second writer"}, stale)
    assert resp.status_code == 412 and resp["Content-Type"] == "application/problem+json"
    assert resp.json()["code"] == "precondition_failed"
    assert JournalEntry.objects.get(pk=draft).description == "first writer"


def test_patch_without_if_match_is_428_and_changes_nothing(client, draft):
    resp = patch(client, draft, {"description": "blind write"})
    assert resp.status_code == 428 and resp.json()["code"] == "precondition_required"
    star = patch(client, draft, {"description": "blind write"}, "*")  # names no version: not enough
    assert (star.status_code, star.json()["code"]) == (428, "precondition_required")
    assert JournalEntry.objects.get(pk=draft).description == "API draft"


def test_an_unbalanced_patch_is_refused_as_on_creation(client, draft):
    resp = patch(client, draft, {"lines": [{"account": "1200", "amount": "1.0000"},
                                           {"account": "4100", "amount": "-2.0000"}]}, etag(client, draft))
    assert (resp.status_code, resp.json()["code"]) == (422, "entry_unbalanced")  # one rule, one answer (#15)
    assert resp.json()["errors"][0]["code"] == "unbalanced"
    assert JournalLine.objects.filter(entry_id=draft).count() == 2


def test_a_submitted_entry_is_no_longer_editable(client, draft):
    tag = etag(client, draft)
    assert post_if_match(client, f"{URL}{draft}/submit/").status_code == 200
    resp = patch(client, draft, {"description": "late"}, tag)
    assert resp.status_code == 409 and resp.json()["code"] == "entry_wrong_status"


def test_a_viewer_cannot_edit_and_an_outsider_cannot_see(client, world, draft):
    tag = etag(client, draft)
    client.force_login(user_with_role(world.entity, "viewer"))
    assert patch(client, draft, {"description": "x"}, tag).status_code == 403
    client.force_login(user_with_role(world.other, "preparer"))
    assert patch(client, draft, {"description": "x"}, tag).status_code == 404
    assert JournalEntry.objects.get(pk=draft).description == "API draft"


def test_void_needs_a_reason_and_records_it(client, preparer, draft):
    missing = post_if_match(client, f"{URL}{draft}/void/", {}, content_type="application/json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "reason"
    assert JournalEntry.objects.get(pk=draft).status == EntryStatus.DRAFT
    resp = post_if_match(client, f"{URL}{draft}/void/",
                         {"reason": "duplicate of INV-7"}, content_type="application/json")
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert (body["status"], body["void_reason"], body["voided_by"]) == ("void", "duplicate of INV-7",
                                                                       preparer.username)
    assert AuditEvent.objects.filter(object_type="ledger.journalentry", object_id=str(draft),
                                     action="update").exists()


def test_a_posted_entry_cannot_be_voided(client, world):
    client.force_login(user_with_role(world.entity, "preparer"))
    posted = client.post(URL, {**draft_body(world), "post": True}, content_type="application/json").json()["id"]
    resp = post_if_match(client, f"{URL}{posted}/void/", {"reason": "oops"}, content_type="application/json")
    assert resp.status_code == 409 and resp.json()["code"] == "entry_wrong_status"
