"""Changing and stopping a recurrence (issue 16): journal_recurrence_update / journal_recurrence_stop,
the same in the admin and over the API (PATCH with If-Match, POST stop/), and the drafts' source."""
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError, connection, transaction

from audit.models import AuditEvent
from ledger.errors import RecurrenceStoppedError
from ledger.etags import journal_recurrence_etag
from ledger.models import EntrySource, EntryStatus, JournalEntry, JournalRecurrence
from ledger.services.entries import (
    journal_entry_approve,
    journal_entry_create,
    journal_entry_create_and_post,
    journal_entry_post,
    journal_entry_submit,
)
from ledger.services.recurring import (
    journal_recurrence_create,
    journal_recurrence_stop,
    journal_recurrence_update,
    recurring_entries_generate,
)
from ledger.services.templates import journal_template_create
from sheshi.errors import PermissionDenied, PreconditionFailed, RuleViolation, ValidationFailed
from tests.conditional import post_if_match
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def staff(user):
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="ledger"))
    return user


@pytest.fixture
def preparer(world):
    return staff(user_with_role(world.entity, "preparer"))


@pytest.fixture
def template(world, preparer):
    draft = journal_entry_create(actor=preparer, entity=world.entity,
                                 entry=world.sale("250", day=date(2026, 12, 15))).entry
    return journal_template_create(actor=preparer, entry_id=draft.pk, name="Monthly rent")


@pytest.fixture
def recurrence(world, preparer, template):
    return journal_recurrence_create(actor=preparer, template_id=template.pk,
                                     start_period_id=world.period("2026-04").pk, day_of_month=10)


def generate(world, code):
    return recurring_entries_generate(period=world.period(code))


def drafted(recurrence):
    return {r.period.code: r.entry_id for r in recurrence.runs.select_related("period") if r.entry_id}


# ---- services ------------------------------------------------------------------------------------

def test_a_change_applies_to_the_months_not_yet_drafted_and_is_audited(world, preparer, recurrence):
    april = generate(world, "2026-04")[0].entry_id
    journal_recurrence_update(actor=preparer, recurrence_id=recurrence.pk, day_of_month=None,
                              end_period_id=world.period("2026-06").pk)
    may = generate(world, "2026-05")[0].entry_id
    assert JournalEntry.objects.get(pk=april).entry_date == date(2026, 4, 10)  # already drafted: unchanged
    assert JournalEntry.objects.get(pk=may).entry_date == date(2026, 5, 31)  # the last day from now on
    assert generate(world, "2026-07") == []  # after the new end
    event = AuditEvent.objects.get(action="journal_recurrence.updated")
    assert (event.object_id, event.changes["before"], event.changes["after"]) == (
        str(recurrence.pk), {"day_of_month": 10, "end_period_id": None},
        {"day_of_month": None, "end_period_id": world.period("2026-06").pk})


def test_the_end_is_never_before_a_month_already_drafted(world, preparer, recurrence):
    generate(world, "2026-05")
    with pytest.raises(ValidationFailed) as refused:
        journal_recurrence_update(actor=preparer, recurrence_id=recurrence.pk,
                                  end_period_id=world.period("2026-04").pk)
    assert [e.code for e in refused.value.errors] == ["period_already_generated"]
    with pytest.raises(ValidationFailed):
        journal_recurrence_stop(actor=preparer, recurrence_id=recurrence.pk, reason="x",
                                after_period_id=world.period("2026-04").pk)
    with pytest.raises(ValidationFailed) as bad_day:
        journal_recurrence_update(actor=preparer, recurrence_id=recurrence.pk, day_of_month=32)
    assert bad_day.value.errors[0].code == "invalid_day"
    assert JournalRecurrence.objects.get().end_period is None


def test_stopping_ends_the_drafts_keeps_who_when_why_and_freezes_the_recurrence(world, preparer, recurrence):
    approver = user_with_role(world.entity, "approver")
    may = generate(world, "2026-05")[0].entry_id
    stopped = journal_recurrence_stop(actor=approver, recurrence_id=recurrence.pk, reason="  Lease ended  ")
    assert (stopped.is_active, stopped.end_period.code, stopped.stopped_by_id, stopped.stop_reason) == (
        False, "2026-05", approver.pk, "Lease ended")
    assert stopped.stopped_at is not None
    assert generate(world, "2026-06") == [] and JournalEntry.objects.get(pk=may).status == EntryStatus.DRAFT
    event = AuditEvent.objects.get(action="journal_recurrence.stopped")
    assert (event.changes["reason"], event.changes["end_period_id"]) == ("Lease ended", world.period("2026-05").pk)
    with pytest.raises(RecurrenceStoppedError):
        journal_recurrence_stop(actor=approver, recurrence_id=recurrence.pk, reason="again")
    with pytest.raises(RecurrenceStoppedError):
        journal_recurrence_update(actor=preparer, recurrence_id=recurrence.pk, day_of_month=1)


def test_a_stop_after_a_period_drafts_up_to_it(world, preparer, recurrence):
    journal_recurrence_stop(actor=preparer, recurrence_id=recurrence.pk, reason="Contract ends in June",
                            after_period_id=world.period("2026-06").pk)
    assert [o.status for o in generate(world, "2026-06")] == ["generated"]
    assert generate(world, "2026-07") == []
    assert JournalRecurrence.objects.get().is_active  # it ends by its end period


def test_a_stop_needs_a_reason_and_the_database_says_so_too(world, preparer, recurrence):
    with pytest.raises(RuleViolation) as refused:
        journal_recurrence_stop(actor=preparer, recurrence_id=recurrence.pk, reason="   ")
    assert refused.value.code == "reason_required"
    with pytest.raises(IntegrityError, match="recurrence_stop_has_reason"), transaction.atomic(), \
            connection.cursor() as cur:
        cur.execute("SELECT set_config('sheshi.actor_id', %s, true)", [str(preparer.pk)])
        cur.execute("UPDATE ledger_journalrecurrence SET stopped_at = now(), stopped_by_id = %s WHERE id = %s",
                    [preparer.pk, recurrence.pk])


def test_who_may_change_or_stop(world, preparer, recurrence):
    viewer = user_with_role(world.entity, "viewer")
    approver = user_with_role(world.entity, "approver")
    outsider = user_with_role(world.other, "controller")
    for user in (viewer, approver, outsider):
        with pytest.raises(PermissionDenied):
            journal_recurrence_update(actor=user, recurrence_id=recurrence.pk, day_of_month=1)
    for user in (viewer, outsider):
        with pytest.raises(PermissionDenied):
            journal_recurrence_stop(actor=user, recurrence_id=recurrence.pk, reason="no")
    assert JournalRecurrence.objects.get().stopped_at is None


def test_a_stale_version_is_refused_under_the_lock(world, preparer, recurrence):
    stale = journal_recurrence_etag(recurrence)
    journal_recurrence_update(actor=preparer, recurrence_id=recurrence.pk, day_of_month=20, if_match=[stale])
    with pytest.raises(PreconditionFailed):
        journal_recurrence_update(actor=preparer, recurrence_id=recurrence.pk, day_of_month=5, if_match=[stale])
    assert JournalRecurrence.objects.get().day_of_month == 20


# ---- the drafts' source --------------------------------------------------------------------------

def test_generated_drafts_carry_source_recurring_and_are_approved_as_manual_ones(client, world, preparer,
                                                                                  recurrence):
    world.entity.approval_required_sources = ["manual"]
    world.entity.save(update_fields=["approval_required_sources"])
    entry_id = generate(world, "2026-04")[0].entry_id
    entry = JournalEntry.objects.get(pk=entry_id)
    assert entry.source == EntrySource.RECURRING
    journal_entry_submit(actor=preparer, entry_id=entry_id)
    controller = user_with_role(world.entity, "controller")
    with pytest.raises(RuleViolation) as refused:  # needs approval, as the manual entry it replaced did
        journal_entry_post(actor=controller, entry_id=entry_id)
    assert refused.value.code == "entry_wrong_status" and "expected approved" in str(refused.value.detail)
    # PostgreSQL holds the same rule (ledger/sql/0027): posting it straight is refused.
    with pytest.raises(IntegrityError, match="needs approval"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT set_config('sheshi.actor_id', %s, true)", [str(controller.pk)])
        cur.execute("UPDATE ledger_journalentry SET status = 'posted', posted_at = now(), posted_by_id = %s "
                    "WHERE id = %s", [controller.pk, entry_id])
    journal_entry_approve(actor=user_with_role(world.entity, "approver"), entry_id=entry_id)
    assert journal_entry_post(actor=controller, entry_id=entry_id).status == EntryStatus.POSTED
    client.force_login(staff(controller))
    listing = client.get("/admin/ledger/journalentry/", {"source__exact": "recurring"}).content.decode()
    assert f">{entry_id}<" in listing and "<td class=\"field-source\">Recurring</td>" in listing
    detail = client.get(f"/admin/ledger/journalentry/{entry_id}/change/").content.decode()
    assert "<div class=\"readonly\">Recurring</div>" in detail


def test_a_recurring_draft_opens_in_the_grid_naming_its_recurrence(client, world, preparer, recurrence):
    entry_id = generate(world, "2026-04")[0].entry_id
    client.force_login(preparer)
    page = client.get(f"/admin/ledger/journalentry/{entry_id}/change/").content.decode()
    assert 'name="_save"' in page
    assert (f'Source: <strong>Recurring</strong>, drafted by\n  <a href="/admin/ledger/journalrecurrence/'
            f'{recurrence.pk}/change/">recurrence {recurrence.pk}</a>') in page


def test_an_accruals_reversal_carries_source_reversal(world, preparer):
    accrual = journal_entry_create_and_post(actor=None, entity=world.entity,
                                            entry=world.sale("40", day=date(2026, 4, 30), auto_reverse=True)).entry
    reversal = JournalEntry.objects.get(reverses=accrual)
    assert (accrual.source, reversal.source, reversal.entry_date) == (
        EntrySource.MANUAL, EntrySource.REVERSAL, date(2026, 5, 1))


# ---- admin ---------------------------------------------------------------------------------------

def test_the_admin_changes_and_stops_a_recurrence_through_the_services(client, world, preparer, recurrence):
    client.force_login(preparer)
    url = "/admin/ledger/journalrecurrence/"
    ask = client.post(url, {"action": "change_recurrence", "_selected_action": [recurrence.pk]})
    assert ask.status_code == 200 and 'id="je-recurrence-change"' in ask.content.decode()
    done = client.post(url, {"action": "change_recurrence", "_selected_action": [recurrence.pk], "confirm": "1",
                             "day_of_month": "25", "end_period": world.period("2026-09").pk}, follow=True)
    assert "changed for the months not yet drafted" in done.content.decode()
    assert (JournalRecurrence.objects.get().day_of_month, JournalRecurrence.objects.get().end_period.code) == (
        25, "2026-09")
    ask = client.post(url, {"action": "stop_recurrence", "_selected_action": [recurrence.pk]})
    assert 'id="je-recurrence-stop"' in ask.content.decode()
    blank = client.post(url, {"action": "stop_recurrence", "_selected_action": [recurrence.pk], "confirm": "1",
                              "reason": ""})
    assert "This field is required." in blank.content.decode() and JournalRecurrence.objects.get().is_active
    client.post(url, {"action": "stop_recurrence", "_selected_action": [recurrence.pk], "confirm": "1",
                      "reason": "Office closed"}, follow=True)
    stopped = JournalRecurrence.objects.get()
    assert (stopped.is_active, stopped.stop_reason, stopped.stopped_by_id) == (False, "Office closed", preparer.pk)
    again = client.post(url, {"action": "change_recurrence", "_selected_action": [recurrence.pk], "confirm": "1",
                              "day_of_month": "3"}, follow=True).content.decode()
    assert "The recurrence was not changed: Recurrence" in again and "it no longer changes" in again
    assert "Office closed" in client.get(url).content.decode()


def test_the_admin_drafts_a_month_now_as_the_schedule_would(client, world, preparer, recurrence):
    client.force_login(preparer)
    url = "/admin/ledger/journalrecurrence/"
    ask = client.post(url, {"action": "draft_month", "_selected_action": [recurrence.pk]})
    assert ask.status_code == 200 and 'id="je-recurrence-draft"' in ask.content.decode()
    done = client.post(url, {"action": "draft_month", "_selected_action": [recurrence.pk], "confirm": "1",
                             "period": world.period("2026-05").pk}, follow=True).content.decode()
    assert "2026-05: 1 draft(s) made." in done
    drafted = JournalEntry.objects.get(source=EntrySource.RECURRING)
    assert (drafted.entry_date, drafted.created_by_id, drafted.status) == (date(2026, 5, 10), preparer.pk, "draft")
    again = client.post(url, {"action": "draft_month", "_selected_action": [recurrence.pk], "confirm": "1",
                              "period": world.period("2026-05").pk}, follow=True).content.decode()
    assert "2026-05: 0 draft(s) made." in again and "already drafted for this month" in again
    assert JournalEntry.objects.filter(source=EntrySource.RECURRING).count() == 1
    client.force_login(staff(user_with_role(world.entity, "approver")))  # may not prepare: not offered
    assert "draft_month" not in client.get(url).content.decode()


def test_the_recurrence_actions_are_listed_to_those_who_may_use_them(client, world, recurrence):
    viewer = staff(user_with_role(world.entity, "viewer"))
    client.force_login(viewer)
    page = client.get("/admin/ledger/journalrecurrence/").content.decode()
    assert "change_recurrence" not in page and "stop_recurrence" not in page
    client.force_login(staff(user_with_role(world.entity, "approver")))
    page = client.get("/admin/ledger/journalrecurrence/").content.decode()
    assert "change_recurrence" not in page and "stop_recurrence" in page


# ---- API -----------------------------------------------------------------------------------------

def test_the_api_patches_with_if_match_and_stops(client, world, preparer, recurrence):
    client.force_login(preparer)
    url = f"/api/v1/journal-recurrences/{recurrence.pk}/"
    read = client.get(url)
    etag = read["ETag"]
    assert etag == journal_recurrence_etag(recurrence)
    body = {"day_of_month": None, "end_period": "2026-08"}
    assert client.patch(url, body, content_type="application/json").status_code == 428
    changed = client.patch(url, body, content_type="application/json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200, changed.content
    assert (changed.json()["day_of_month"], changed.json()["end_period"]) == (None, "2026-08")
    assert changed["ETag"] != etag
    stale = client.patch(url, {"day_of_month": 3}, content_type="application/json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    unknown = client.patch(url, {"end_period": "2031-01"}, content_type="application/json",
                           HTTP_IF_MATCH=changed["ETag"])
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "end_period"
    assert client.post(f"{url}stop/", {"reason": "x"}, content_type="application/json").status_code == 428
    stop = post_if_match(client, f"{url}stop/", {"reason": "Lease ended", "after_period": "2026-06"},
                         content_type="application/json")
    assert stop.status_code == 200, stop.content
    assert (stop.json()["end_period"], stop.json()["stop_reason"], stop.json()["stopped_by"]) == (
        "2026-06", "Lease ended", preparer.username)
    again = post_if_match(client, f"{url}stop/", {"reason": "again"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "recurrence_stopped"
    assert post_if_match(client, f"{url}stop/", {}, content_type="application/json").status_code == 400


def test_the_api_hides_and_refuses_others_recurrences(client, world, recurrence):
    url = f"/api/v1/journal-recurrences/{recurrence.pk}/"
    client.force_login(user_with_role(world.other, "controller"))
    assert client.patch(url, {"day_of_month": 1}, content_type="application/json",
                        HTTP_IF_MATCH='"x"').status_code == 404
    assert post_if_match(client, f"{url}stop/", {"reason": "x"}, content_type="application/json").status_code == 404
    viewer = user_with_role(world.entity, "viewer")
    client.force_login(viewer)
    etag = client.get(url)["ETag"]
    refused = client.patch(url, {"day_of_month": 1}, content_type="application/json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 403
    assert post_if_match(client, f"{url}stop/", {"reason": "x"}, content_type="application/json").status_code == 403
    assert JournalRecurrence.objects.get().stopped_at is None
