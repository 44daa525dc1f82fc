"""The approver's inbox (issue 16): "Awaiting my approval" in the admin, bulk approve (each on its
own) and bulk post (all or none) after a confirmation page, and the same over the API."""
import re
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission

from audit.models import AuditEvent
from ledger.admin_inbox import INBOX_PAGE_SIZE
from ledger.errors import BulkPostRefusedError
from ledger.models import EntryStatus, JournalEntry
from ledger.selectors.inbox import journal_entries_awaiting_approval_list
from ledger.services.entries import journal_entry_approve, journal_entry_create, journal_entry_submit
from ledger.services.inbox import journal_entries_post_all
from periods.models import EntityPeriod, PeriodState
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

INBOX = "/admin/ledger/journalentry/awaiting-approval/"


def staff(user):
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="ledger"))
    return user


@pytest.fixture
def people(world):
    # Manual entries need approval here, so approvers post them (without it, posting is preparing).
    world.entity.approval_required_sources = ["manual"]
    world.entity.save(update_fields=["approval_required_sources"])
    return {"prep": staff(user_with_role(world.entity, "preparer")),
            "appr": staff(user_with_role(world.entity, "approver")),
            "ctrl": staff(user_with_role(world.entity, "controller"))}


def submitted(world, actor, amount="10", day=date(2026, 3, 15), entity=None):
    entry = journal_entry_create(actor=actor, entity=entity or world.entity, entry=world.sale(amount, day)).entry
    return journal_entry_submit(actor=actor, entry_id=entry.pk)


def status(entry) -> str:
    return JournalEntry.objects.values_list("status", flat=True).get(pk=entry.pk)


# ---- selector -----------------------------------------------------------------------------------

def test_the_inbox_holds_submitted_and_approved_entries_of_my_entities_but_never_my_own(world, people):
    theirs = submitted(world, people["prep"], "1")
    approved = journal_entry_approve(actor=people["appr"], entry_id=submitted(world, people["prep"], "2").pk)
    mine = submitted(world, people["ctrl"], "3")
    draft = journal_entry_create(actor=people["prep"], entity=world.entity, entry=world.sale("4")).entry
    other_entity = submitted(world, None, "5", entity=world.other)
    ids = list(journal_entries_awaiting_approval_list(people["ctrl"]).values_list("pk", flat=True))
    assert ids == [theirs.pk, approved.pk]
    assert mine.pk in journal_entries_awaiting_approval_list(people["appr"]).values_list("pk", flat=True)
    assert draft.pk not in ids and other_entity.pk not in ids
    assert list(journal_entries_awaiting_approval_list(people["prep"])) == []  # no approval rights


# ---- service: posting all or none ---------------------------------------------------------------

def test_posting_together_posts_every_entry_and_records_one_event(world, people):
    entries = [journal_entry_approve(actor=people["appr"], entry_id=submitted(world, people["prep"], a).pk)
               for a in ("10", "20")]
    posted = journal_entries_post_all(actor=people["appr"], entry_ids=[e.pk for e in reversed(entries)])
    assert [e.pk for e in posted] == [e.pk for e in entries]
    assert [status(e) for e in entries] == [EntryStatus.POSTED, EntryStatus.POSTED]
    event = AuditEvent.objects.get(action="journal_entries.posted_together")
    assert event.changes == {"entry_ids": [e.pk for e in entries]}


def test_one_refusal_posts_nothing_and_names_every_refused_entry(world, people):
    ok = journal_entry_approve(actor=people["appr"], entry_id=submitted(world, people["prep"], "10").pk)
    not_approved = submitted(world, people["prep"], "20")
    own = journal_entry_approve(actor=people["appr"], entry_id=submitted(world, people["ctrl"], "30").pk)
    with pytest.raises(BulkPostRefusedError) as refused:
        journal_entries_post_all(actor=people["ctrl"], entry_ids=[ok.pk, not_approved.pk, own.pk])
    assert [entry_id for entry_id, _ in refused.value.refusals] == [not_approved.pk, own.pk]
    assert [e.field for e in refused.value.errors] == [f"entries[{not_approved.pk}]", f"entries[{own.pk}]"]
    assert refused.value.errors[1].message == f"You prepared entry {own.pk}; someone else must post it."
    assert [status(e) for e in (ok, not_approved, own)] == [EntryStatus.APPROVED, EntryStatus.SUBMITTED,
                                                            EntryStatus.APPROVED]
    assert not AuditEvent.objects.filter(action="journal_entries.posted_together").exists()


# ---- admin --------------------------------------------------------------------------------------

def test_the_inbox_page_lists_what_awaits_me_and_the_menu_links_to_it(client, world, people):
    theirs = submitted(world, people["prep"], "11")
    mine = submitted(world, people["ctrl"], "12")
    client.force_login(people["ctrl"])
    html = client.get(INBOX).content.decode()
    assert f'name="entries" value="{theirs.pk}"' in html and f'value="{mine.pk}"' not in html
    assert INBOX in client.get("/admin/").content.decode()
    client.force_login(people["prep"])  # no approval rights: no link, no page
    assert INBOX not in client.get("/admin/").content.decode()
    assert client.get(INBOX).status_code == 403


def test_bulk_approve_confirms_then_approves_each_and_names_the_refused_one(client, world, people):
    first, second = submitted(world, people["prep"], "1"), submitted(world, people["prep"], "2")
    client.force_login(people["appr"])
    page = client.post(INBOX, {"do": "approve", "entries": [first.pk, second.pk]}).content.decode()
    assert "Each entry is approved on its own" in page and page.count("will be approved") == 2
    assert [status(first), status(second)] == [EntryStatus.SUBMITTED] * 2  # nothing done before confirming
    journal_entry_approve(actor=people["ctrl"], entry_id=second.pk)  # someone else was quicker
    done = client.post(INBOX, {"do": "approve", "entries": [first.pk, second.pk], "confirm": "1"}, follow=True)
    texts = [str(m) for m in done.context["messages"]]
    assert texts == [f"Entry {second.pk} was not approved: it is approved; only submitted entries can be approved.",
                     "1 entry approved."]
    assert status(first) == EntryStatus.APPROVED


def test_bulk_post_is_all_or_none_and_says_which_entry_stopped_it(client, world, people):
    ready = journal_entry_approve(actor=people["appr"], entry_id=submitted(world, people["prep"], "1").pk)
    waiting = submitted(world, people["prep"], "2")
    client.force_login(people["ctrl"])
    page = client.post(INBOX, {"do": "post", "entries": [ready.pk, waiting.pk]}).content.decode()
    assert "all or none" in page and "will be posted" in page and "cannot be posted: it is submitted" in page
    done = client.post(INBOX, {"do": "post", "entries": [ready.pk, waiting.pk], "confirm": "1"}, follow=True)
    texts = [str(m) for m in done.context["messages"]]
    assert texts[0] == "Nothing was posted: 1 of 2 entries cannot be posted, and posting is all or none."
    assert texts[1].startswith(f"Entry {waiting.pk} cannot be posted: it is submitted")
    assert [status(ready), status(waiting)] == [EntryStatus.APPROVED, EntryStatus.SUBMITTED]
    client.post(INBOX, {"do": "post", "entries": [ready.pk], "confirm": "1"})
    assert status(ready) == EntryStatus.POSTED


def test_the_inbox_never_acts_on_an_entry_outside_it(client, world, people):
    own = submitted(world, people["ctrl"], "1")  # the controller's own: not in the inbox
    client.force_login(people["ctrl"])
    client.post(INBOX, {"do": "approve", "entries": [own.pk], "confirm": "1"})
    assert status(own) == EntryStatus.SUBMITTED


# ---- API ----------------------------------------------------------------------------------------

def test_the_api_lists_my_inbox_and_posts_all_or_none(client, world, people):
    ready = journal_entry_approve(actor=people["appr"], entry_id=submitted(world, people["prep"], "1").pk)
    waiting = submitted(world, people["prep"], "2")
    client.force_login(people["appr"])
    listed = client.get("/api/v1/journal-entries/?awaiting_my_approval=true").json()["results"]
    assert sorted(e["id"] for e in listed) == sorted([ready.pk, waiting.pk])
    refused = client.post("/api/v1/journal-entries/post-all/", {"entries": [ready.pk, waiting.pk]},
                          content_type="application/json")
    assert (refused.status_code, refused.json()["code"]) == (422, "bulk_post_refused")
    assert [e["field"] for e in refused.json()["errors"]] == [f"entries[{waiting.pk}]"]
    assert status(ready) == EntryStatus.APPROVED
    ok = client.post("/api/v1/journal-entries/post-all/", {"entries": [ready.pk]}, content_type="application/json")
    assert ok.status_code == 200 and [e["status"] for e in ok.json()] == ["posted"]


def test_posting_together_an_entry_of_another_entity_is_404_and_posts_nothing(client, world, people):
    theirs = journal_entry_create(actor=None, entity=world.other, entry=world.sale("3")).entry
    client.force_login(people["ctrl"])
    resp = client.post("/api/v1/journal-entries/post-all/", {"entries": [theirs.pk]}, content_type="application/json")
    assert resp.status_code == 404 and status(theirs) == EntryStatus.DRAFT
    assert EntityPeriod.objects.filter(entity=world.entity, state=PeriodState.LOCKED).count() == 0


def test_the_inbox_page_is_paged_with_a_count(client, world, people):
    """Issue 16: the inbox showed at most 500 entries, unpaged and uncounted. 230 waiting entries,
    copied set-based from one submitted through the services (one INSERT), read in pages of 100."""
    first = submitted(world, people["prep"], "1")
    fields = {f.attname: getattr(first, f.attname) for f in JournalEntry._meta.concrete_fields
              if f.attname not in ("id", "idempotency_key", "request_hash")}
    JournalEntry.objects.bulk_create([
        JournalEntry(**{**fields, "description": f"Copy {i}", "submitted_at": first.submitted_at
                        + timedelta(seconds=i)}) for i in range(1, 230)])
    total = 230
    assert INBOX_PAGE_SIZE == 100
    client.force_login(people["ctrl"])
    pages = [client.get(INBOX, {"p": n}).content.decode() for n in (1, 2, 3)]
    counts = [html.count('name="entries"') for html in pages]
    assert counts == [100, 100, 30]
    assert f"<strong>{total}</strong> entries await you; showing 1–100." in pages[0]
    assert "showing 201–230." in pages[2]
    assert 'id="je-inbox-next"' in pages[0] and 'id="je-inbox-previous"' not in pages[0]
    assert 'id="je-inbox-previous"' in pages[2] and 'id="je-inbox-next"' not in pages[2]
    # Oldest first across the pages, each entry once.
    ids = [int(i) for html in pages for i in re.findall(r'name="entries" value="(\d+)"', html)]
    assert ids[0] == first.pk and len(set(ids)) == total
    assert client.get(INBOX, {"p": "99"}).content.decode().count('name="entries"') == 30  # past the end: last page
