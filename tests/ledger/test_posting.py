"""Posting through the services: balances move in the same transaction, exactly."""
from datetime import date
from decimal import Decimal

import pytest

from ledger.errors import EntryNotInStateError, EntryUnbalancedError, IdempotencyConflictError, SegregationOfDutiesError
from ledger.inputs import EntryInput, LineInput
from ledger.models import Balance, EntryStatus, JournalEntry, JournalLine
from ledger.services.entries import (
    journal_entry_approve,
    journal_entry_create,
    journal_entry_create_and_post,
    journal_entry_post,
    journal_entry_reverse,
    journal_entry_submit,
)
from sheshi.errors import PermissionDenied, ValidationFailed
from tests.factories import user_with_role


def balances(world):
    return {(b.account_id, b.currency): (b.functional_debit, b.functional_credit, b.line_count)
            for b in Balance.objects.filter(entity_id=world.entity.pk)}


def test_posting_an_entry_updates_balances_exactly(world):
    entry = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("1234.5678")).entry
    assert entry.status == EntryStatus.POSTED and entry.posted_at is not None
    assert balances(world) == {
        (world.acc("1200"), "EUR"): (Decimal("1234.5678"), Decimal(0), 1),
        (world.acc("4100"), "EUR"): (Decimal(0), Decimal("1234.5678"), 1),
    }
    assert entry.period.code == "2026-03"


def test_balances_accumulate_across_entries(world):
    for amount in ("100.00", "250.25", "0.0001"):
        journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale(amount))
    assert balances(world)[(world.acc("1200"), "EUR")] == (Decimal("350.2501"), Decimal(0), 3)


def test_draft_does_not_touch_balances(world):
    journal_entry_create(actor=None, entity=world.entity, entry=world.sale("10"))
    assert balances(world) == {}


def test_unbalanced_entry_is_refused_with_field_errors_and_nothing_written(world):
    entry = EntryInput(entry_date=date(2026, 3, 1), description="bad", lines=[
        LineInput(account_id=world.acc("1100"), amount=Decimal("10")),
        LineInput(account_id=world.acc("4100"), amount=Decimal("-9.99")),
    ])
    with pytest.raises(EntryUnbalancedError) as exc:
        journal_entry_create(actor=None, entity=world.entity, entry=entry)
    assert [(e.field, e.code) for e in exc.value.errors] == [("lines", "unbalanced")]
    assert JournalEntry.objects.count() == 0 and JournalLine.objects.count() == 0


def test_group_account_and_unknown_account_are_refused(world):
    entry = EntryInput(entry_date=date(2026, 3, 1), description="bad", lines=[
        LineInput(account_id=world.acc("1000"), amount=Decimal("10")),
        LineInput(account_id=999_999, amount=Decimal("-10")),
    ])
    with pytest.raises(ValidationFailed) as exc:
        journal_entry_create(actor=None, entity=world.entity, entry=entry)
    assert [(e.field, e.code) for e in exc.value.errors] == [
        ("lines[0].account", "not_postable"), ("lines[1].account", "unknown_account")]


def test_foreign_currency_line_is_converted_half_even(world):
    entry = EntryInput(entry_date=date(2026, 3, 2), description="USD receipt", lines=[
        LineInput(account_id=world.acc("1100"), amount=Decimal("100.00"), currency="USD",
                  rate=Decimal("0.923456785")),
        LineInput(account_id=world.acc("4100"), amount=Decimal("-92.3457")),
    ])
    posted = journal_entry_create_and_post(actor=None, entity=world.entity, entry=entry).entry
    usd = posted.lines.get(currency="USD")
    assert usd.functional_amount == Decimal("92.3457")  # 92.3456785 → half-even at 4 places
    assert Balance.objects.get(entity_id=world.entity.pk, account_id=world.acc("1100")).amount == Decimal("100")


def test_workflow_with_segregation_of_duties(world):
    world.entity.approval_required_sources = ["manual"]
    world.entity.save()
    preparer = user_with_role(world.entity, "preparer")
    approver = user_with_role(world.entity, "approver")
    entry = journal_entry_create(actor=preparer, entity=world.entity, entry=world.sale("50")).entry
    with pytest.raises(EntryNotInStateError):
        journal_entry_post(actor=approver, entry_id=entry.pk)  # not approved yet
    journal_entry_submit(actor=preparer, entry_id=entry.pk)
    with pytest.raises(PermissionDenied):
        journal_entry_approve(actor=preparer, entry_id=entry.pk)  # preparer lacks approve
    journal_entry_approve(actor=approver, entry_id=entry.pk)
    posted = journal_entry_post(actor=approver, entry_id=entry.pk)
    assert (posted.status, posted.created_by, posted.approved_by, posted.posted_by) == (
        EntryStatus.POSTED, preparer, approver, approver)


def test_approver_cannot_approve_own_entry(world):
    both = user_with_role(world.entity, "controller")
    entry = journal_entry_create(actor=both, entity=world.entity, entry=world.sale("5")).entry
    journal_entry_submit(actor=both, entry_id=entry.pk)
    with pytest.raises(SegregationOfDutiesError):
        journal_entry_approve(actor=both, entry_id=entry.pk)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED and entry.approved_by is None


def test_viewer_cannot_create(world):
    viewer = user_with_role(world.entity, "viewer")
    with pytest.raises(PermissionDenied):
        journal_entry_create(actor=viewer, entity=world.entity, entry=world.sale("5"))
    assert JournalEntry.objects.count() == 0


def test_idempotency_key_replays_and_refuses_a_different_body(world):
    preparer = user_with_role(world.entity, "preparer")
    first = journal_entry_create(actor=preparer, entity=world.entity, entry=world.sale("7"), idempotency_key="k-1",
                                 request_hash="h1")
    again = journal_entry_create(actor=preparer, entity=world.entity, entry=world.sale("7"), idempotency_key="k-1",
                                 request_hash="h1")
    assert (again.replayed, again.entry.pk) == (True, first.entry.pk)
    with pytest.raises(IdempotencyConflictError):
        journal_entry_create(actor=preparer, entity=world.entity, entry=world.sale("8"), idempotency_key="k-1",
                             request_hash="h2")
    assert JournalEntry.objects.count() == 1


def test_reversal_negates_and_points_to_the_original(world):
    original = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("40")).entry
    reversal = journal_entry_reverse(actor=None, entry_id=original.pk)
    assert reversal.reverses_id == original.pk and reversal.source == "reversal"
    assert reversal.status == EntryStatus.POSTED  # the system's reversal posts at once
    # By default dated on the first day of the entity's next open period (issue #15 item 4).
    assert (reversal.entry_date, reversal.period.code) == (date(2026, 4, 1), "2026-04")
    assert sorted(reversal.lines.values_list("functional_amount", flat=True)) == [Decimal("-40"), Decimal("40")]
    net: dict[int, Decimal] = {}
    for b in Balance.objects.filter(entity_id=world.entity.pk):
        net[b.account_id] = net.get(b.account_id, Decimal(0)) + b.functional_debit - b.functional_credit
    assert set(net.values()) == {Decimal(0)}  # net zero on every account over the two periods
    from ledger.errors import AlreadyReversedError

    with pytest.raises(AlreadyReversedError):
        journal_entry_reverse(actor=None, entry_id=original.pk)


def test_entry_date_without_period_is_refused(world):
    with pytest.raises(ValidationFailed) as exc:
        journal_entry_create(actor=None, entity=world.entity, entry=world.sale("1", day=date(2030, 1, 1)))
    assert exc.value.errors[0].field == "entry_date"
