"""Editing a draft (journal_entry_update) and voiding drafts and submitted entries
(journal_entry_void): the services the admin's journal form and void action call."""
from datetime import date
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from ledger.errors import EntryNotInStateError
from ledger.inputs import EntryInput, LineInput
from ledger.models import Balance, EntryStatus, JournalEntry, JournalLine
from ledger.services.entries import (
    journal_entry_approve,
    journal_entry_create,
    journal_entry_create_and_post,
    journal_entry_post,
    journal_entry_submit,
    journal_entry_update,
    journal_entry_void,
)
from sheshi.errors import PermissionDenied, RuleViolation, ValidationFailed
from tests.factories import user_with_role
from tests.locking import lock_through

pytestmark = pytest.mark.django_db


def accrual(world, amount: str, day=date(2026, 4, 30), **kw) -> EntryInput:
    amount = Decimal(amount)
    return EntryInput(entry_date=day, description=f"Accrued audit fee {amount}", reference="ACC-04", lines=[
        LineInput(account_id=world.acc("5100"), amount=amount, memo="audit fee"),
        LineInput(account_id=world.acc("2100"), amount=-amount, memo="accrual"),
    ], **kw)


def lines_of(entry):
    return list(JournalLine.objects.filter(entry=entry).order_by("line_no")
                .values_list("line_no", "account_id", "functional_amount", "memo"))


def test_update_rewrites_the_header_and_replaces_the_lines_of_a_draft(world):
    preparer = user_with_role(world.entity, "preparer")
    entry = journal_entry_create(actor=preparer, entity=world.entity, entry=world.sale("30")).entry
    updated = journal_entry_update(actor=preparer, entry_id=entry.pk, entry=accrual(world, "12.50"))
    entry.refresh_from_db()
    assert (updated.pk, entry.status, entry.description, entry.reference, entry.period.code) == (
        entry.pk, EntryStatus.DRAFT, "Accrued audit fee 12.50", "ACC-04", "2026-04")
    assert lines_of(entry) == [(1, world.acc("5100"), Decimal("12.5000"), "audit fee"),
                               (2, world.acc("2100"), Decimal("-12.5000"), "accrual")]
    assert [h.history_user_id for h in entry.history.order_by("history_id")][-1] == preparer.pk


def test_update_refuses_an_unbalanced_draft_with_line_errors_and_changes_nothing(world):
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    before = lines_of(entry)
    bad = EntryInput(entry_date=date(2026, 3, 15), description="x", lines=[
        LineInput(account_id=world.acc("1000"), amount=Decimal(5)),
        LineInput(account_id=world.acc("4100"), amount=Decimal(-4))])
    with pytest.raises(ValidationFailed) as exc:
        journal_entry_update(actor=None, entry_id=entry.pk, entry=bad)
    assert [e.field for e in exc.value.errors] == ["lines[0].account"]
    assert lines_of(entry) == before


def test_update_refuses_anything_but_a_draft(world):
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    journal_entry_submit(actor=None, entry_id=entry.pk)
    with pytest.raises(EntryNotInStateError):
        journal_entry_update(actor=None, entry_id=entry.pk, entry=accrual(world, "1"))
    assert lines_of(entry)[0][2] == Decimal("30.0000")


def test_update_needs_the_prepare_permission(world):
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    with pytest.raises(PermissionDenied):
        journal_entry_update(actor=user_with_role(world.entity, "approver"), entry_id=entry.pk,
                             entry=accrual(world, "1"))


def test_void_keeps_number_lines_and_reason_and_never_reaches_a_balance(world):
    preparer = user_with_role(world.entity, "preparer")
    draft = journal_entry_create(actor=preparer, entity=world.entity, entry=world.sale("30")).entry
    submitted = journal_entry_create(actor=preparer, entity=world.entity, entry=world.sale("40")).entry
    journal_entry_submit(actor=preparer, entry_id=submitted.pk)
    for entry in (draft, submitted):
        journal_entry_void(actor=preparer, entry_id=entry.pk, reason="  duplicate of the March accrual ")
        entry.refresh_from_db()
        assert (entry.status, entry.voided_by_id, entry.void_reason) == (
            EntryStatus.VOID, preparer.pk, "duplicate of the March accrual")
        assert entry.voided_at is not None and len(lines_of(entry)) == 2
    assert entry.history.order_by("history_id").last().history_change_reason == "duplicate of the March accrual"
    assert Balance.objects.count() == 0
    changes = [e.changes for e in AuditEvent.objects.filter(object_type="ledger.journalentry",
                                                             object_id=str(draft.pk), action="update")]
    assert [c["after"]["status"] for c in changes] == ["void"]  # recorded by the audit capture trigger


def test_void_needs_a_reason(world):
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    with pytest.raises(RuleViolation) as exc:
        journal_entry_void(actor=None, entry_id=entry.pk, reason="   ")
    assert [e.field for e in exc.value.errors] == ["reason"]
    assert (exc.value.code, exc.value.status) == ("reason_required", 422)  # as the database's entry_void_has_reason
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DRAFT


def test_posted_and_approved_entries_cannot_be_voided(world):
    posted = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("10")).entry
    with pytest.raises(EntryNotInStateError, match="reversal"):
        journal_entry_void(actor=None, entry_id=posted.pk, reason="wrong")
    preparer, approver = user_with_role(world.entity, "preparer"), user_with_role(world.entity, "approver")
    approved = journal_entry_create(actor=preparer, entity=world.entity, entry=world.sale("11")).entry
    journal_entry_submit(actor=preparer, entry_id=approved.pk)
    journal_entry_approve(actor=approver, entry_id=approved.pk)
    with pytest.raises(EntryNotInStateError):
        journal_entry_void(actor=preparer, entry_id=approved.pk, reason="wrong")
    assert list(JournalEntry.objects.order_by("pk").values_list("status", flat=True)) == [
        EntryStatus.POSTED, EntryStatus.APPROVED]


def test_viewer_cannot_void(world):
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    with pytest.raises(PermissionDenied):
        journal_entry_void(actor=user_with_role(world.entity, "viewer"), entry_id=entry.pk, reason="no")


def test_a_void_entry_does_not_hold_up_the_period_lock(world):
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    journal_entry_void(actor=None, entry_id=entry.pk, reason="not needed")
    snapshot = lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    assert snapshot.pk is not None


def test_a_void_entry_cannot_be_posted(world):
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    journal_entry_void(actor=None, entry_id=entry.pk, reason="not needed")
    with pytest.raises(EntryNotInStateError):
        journal_entry_post(actor=None, entry_id=entry.pk)
