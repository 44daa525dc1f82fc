"""Recurring journal entries (issue 16): a monthly schedule on a template drafts its entry once
per period, the owner's, skipping (with the reason) a period locked or soft-closed for the entity."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler

from audit.models import AuditEvent
from ledger.errors import SegregationOfDutiesError
from ledger.models import EntryStatus, JournalEntry, JournalRecurrenceRun, RecurrenceRunStatus
from ledger.services.entries import journal_entry_approve, journal_entry_create, journal_entry_submit
from ledger.services.recurring import journal_recurrence_create, recurring_entries_generate
from ledger.services.templates import journal_template_create
from ledger.tasks import recurring_entries_generate_task
from periods.services.transitions import entity_period_lock, entity_period_reopen, entity_period_soft_close
from sheshi.access.services.grants import role_grant, role_revoke
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
def template(world, preparer):
    december = world.sale("250", day=date(2026, 12, 15))  # outside the months the tests lock
    draft = journal_entry_create(actor=preparer, entity=world.entity, entry=december).entry
    return journal_template_create(actor=preparer, entry_id=draft.pk, name="Monthly rent")


@pytest.fixture
def recurrence(world, preparer, template):
    return journal_recurrence_create(actor=preparer, template_id=template.pk,
                                     start_period_id=world.period("2026-04").pk, day_of_month=31)


def generated_entries(template):
    return JournalEntry.objects.exclude(pk=template.source_entry_id).order_by("pk")


def test_a_recurrence_drafts_its_entry_once_per_period_as_the_owners(world, preparer, template, recurrence):
    first = recurring_entries_generate(period=world.period("2026-04"))
    again = recurring_entries_generate(period=world.period("2026-04"))
    entry = generated_entries(template).get()
    assert [(o.status, o.entry_id) for o in first] == [("generated", entry.pk)]
    assert [(o.status, o.entry_id) for o in again] == [("already_generated", entry.pk)]
    assert (entry.status, entry.period.code, entry.entry_date, entry.created_by_id) == (
        EntryStatus.DRAFT, "2026-04", date(2026, 4, 30), preparer.pk)  # day 31 of a 30-day month: its last
    assert list(entry.lines.order_by("line_no").values_list("account__code", "amount")) == [
        ("1200", Decimal("250.0000")), ("4100", Decimal("-250.0000"))]
    assert AuditEvent.objects.filter(action="journal_entry.recurring_drafted", object_id=str(entry.pk)).count() == 1


def test_periods_outside_the_recurrence_and_stopped_ones_draft_nothing(world, preparer, template):
    journal_recurrence_create(actor=preparer, template_id=template.pk, start_period_id=world.period("2026-04").pk,
                              end_period_id=world.period("2026-05").pk)
    assert recurring_entries_generate(period=world.period("2026-03")) == []
    assert recurring_entries_generate(period=world.period("2026-06")) == []
    assert [o.status for o in recurring_entries_generate(period=world.period("2026-05"))] == ["generated"]
    assert generated_entries(template).get().entry_date == date(2026, 5, 31)  # no day: the last day


def test_a_locked_or_soft_closed_period_is_skipped_with_the_reason_and_generated_once_reopened(
        world, template, recurrence):
    for code in ("2026-01", "2026-02", "2026-03", "2026-04"):
        entity_period_lock(actor=None, entity_period_id=world.entity_period(code).pk)
    entity_period_soft_close(actor=None, entity_period_id=world.entity_period("2026-05").pk, reason="closing")
    locked = recurring_entries_generate(period=world.period("2026-04"))
    assert [(o.status, o.reason) for o in locked] == [("skipped", "period 2026-04 is locked for ACME-DE")]
    skipped = recurring_entries_generate(period=world.period("2026-05"))
    assert [(o.status, o.reason) for o in skipped] == [("skipped", "period 2026-05 is soft-closed for ACME-DE")]
    assert generated_entries(template).count() == 0
    assert list(JournalRecurrenceRun.objects.order_by("period__code").values_list("status", "entry_id")) == [
        (RecurrenceRunStatus.SKIPPED, None), (RecurrenceRunStatus.SKIPPED, None)]
    entity_period_reopen(actor=None, entity_period_id=world.entity_period("2026-05").pk, reason="one more entry")
    reopened = recurring_entries_generate(period=world.period("2026-05"))
    entry = generated_entries(template).get()
    assert [(o.status, o.entry_id) for o in reopened] == [("generated", entry.pk)]
    assert JournalRecurrenceRun.objects.get(period__code="2026-05").status == RecurrenceRunStatus.GENERATED


def test_the_owner_cannot_approve_the_generated_draft_someone_else_does(world, preparer, template, recurrence):
    entry_id = recurring_entries_generate(period=world.period("2026-04"))[0].entry_id
    journal_entry_submit(actor=preparer, entry_id=entry_id)
    role_grant(actor=None, user=preparer, entity=world.entity, role="approver")  # the owner may approve others'
    with pytest.raises(SegregationOfDutiesError):
        journal_entry_approve(actor=preparer, entry_id=entry_id)
    assert JournalEntry.objects.get(pk=entry_id).status == EntryStatus.SUBMITTED
    approver = user_with_role(world.entity, "approver")
    assert journal_entry_approve(actor=approver, entry_id=entry_id).status == EntryStatus.APPROVED


def test_an_owner_who_no_longer_prepares_gets_a_skip_not_an_error(world, template, recurrence):
    role_revoke(actor=None, user=recurrence.owner, entity=world.entity, role="preparer")
    outcome = recurring_entries_generate(period=world.period("2026-04"))[0]
    assert outcome.status == "skipped" and outcome.reason and generated_entries(template).count() == 0


def test_the_database_admits_one_run_per_recurrence_and_period(world, recurrence):
    recurring_entries_generate(period=world.period("2026-04"))
    run = JournalRecurrenceRun.objects.get()
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cur:
        cur.execute("INSERT INTO ledger_journalrecurrencerun (organisation_id, recurrence_id, period_id, status, "
                    "entry_id, reason, created_at, updated_at) VALUES (%s, %s, %s, 'generated', %s, '', now(), now())",
                    [run.organisation_id, run.recurrence_id, run.period_id, run.entry_id + 1])
    assert "recurrence_run_once" in str(refused.value)
    with pytest.raises(IntegrityError) as unlinked, transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE ledger_journalrecurrencerun SET entry_id = NULL WHERE id = %s", [run.pk])
    assert "recurrence_run_generated_has_entry" in str(unlinked.value)
    assert JournalRecurrenceRun.objects.get().entry_id == run.entry_id


def test_setting_up_a_recurrence_needs_the_prepare_role_and_sane_periods(world, template):
    with pytest.raises(PermissionDenied):
        journal_recurrence_create(actor=user_with_role(world.entity, "viewer"), template_id=template.pk,
                                  start_period_id=world.period("2026-04").pk)
    with pytest.raises(ValidationFailed):
        journal_recurrence_create(actor=template.created_by, template_id=template.pk,
                                  start_period_id=world.period("2026-04").pk, end_period_id=world.period("2026-03").pk)


def test_the_command_generates_for_a_period_and_says_what_it_skipped(world, template, recurrence, capsys):
    call_command("generate_recurring_entries", "--org", "ACME", "--period", "2026-04")
    call_command("generate_recurring_entries", "--org", "ACME", "--period", "2026-04")
    out = capsys.readouterr().out
    entry = generated_entries(template).get()
    assert f"generated (entry {entry.pk})" in out and f"already generated (entry {entry.pk})" in out
    assert "ACME 2026-04: 1 draft(s) generated." in out and "ACME 2026-04: 0 draft(s) generated." in out


def test_the_daily_task_generates_the_current_periods_drafts(world, template, recurrence, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: date(2026, 6, 10))
    assert recurring_entries_generate_task() == 1
    assert recurring_entries_generate_task() == 0
    assert generated_entries(template).get().period.code == "2026-06"


def test_the_task_is_scheduled_daily_and_the_scheduler_runs_it(world, template, recurrence, monkeypatch,
                                                                django_capture_on_commit_callbacks):
    schedule = Schedule.objects.filter(name="ledger.recurring_entries_generate")
    assert schedule.values_list("func", "schedule_type").get() == ("ledger.tasks.recurring_entries_generate_task", "D")
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: date(2026, 7, 1))
    schedule.update(next_run=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        scheduler()
    assert generated_entries(template).get().period.code == "2026-07"
