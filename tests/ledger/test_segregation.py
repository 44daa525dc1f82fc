"""Segregation of duties as organisation policies (issue #15 item 4): the poster is not the
preparer; a user's reversal goes through approval; the reversal's date is the caller's choice,
by default the first day of the entity's next open period."""
from datetime import date
from decimal import Decimal

import pytest

from ledger.errors import AlreadyReversedError, PosterIsPreparerError
from ledger.models import Balance, EntryStatus, JournalEntry
from ledger.services.entries import (
    journal_entry_approve,
    journal_entry_create,
    journal_entry_create_and_post,
    journal_entry_post,
    journal_entry_reverse,
    journal_entry_submit,
)
from periods.models import PeriodState
from periods.services.transitions import entity_period_soft_close
from sheshi.errors import RuleViolation, ValidationFailed
from tests.factories import user_with_role
from tests.locking import lock_through


def figures():
    return (sorted(JournalEntry.objects.values_list("pk", "status", "posted_by_id", "entry_date", "period_id")),
            sorted(Balance.objects.values_list("account_id", "period_id", "functional_debit", "functional_credit")))


@pytest.fixture
def people(world):
    return {"controller": user_with_role(world.entity, "controller"),
            "approver": user_with_role(world.entity, "approver"),
            "preparer": user_with_role(world.entity, "preparer")}


def approved_by_another(world, people, preparer="controller"):
    world.entity.approval_required_sources = ["manual"]
    world.entity.save(update_fields=["approval_required_sources"])
    entry = journal_entry_create(actor=people[preparer], entity=world.entity, entry=world.sale("50")).entry
    journal_entry_submit(actor=people[preparer], entry_id=entry.pk)
    journal_entry_approve(actor=people["approver"], entry_id=entry.pk)
    return entry


def set_policy(world, **policy):
    for name, value in policy.items():
        setattr(world.org, name, value)
    world.org.save(update_fields=list(policy))


def test_policies_are_on_by_default(world):
    world.org.refresh_from_db()
    assert (world.org.poster_not_preparer, world.org.reversal_needs_approval) == (True, True)


def test_a_controller_cannot_post_an_entry_he_prepared_once_someone_else_approved_it(world, people):
    entry = approved_by_another(world, people)
    before = figures()
    with pytest.raises(PosterIsPreparerError) as exc:
        journal_entry_post(actor=people["controller"], entry_id=entry.pk)
    assert (exc.value.code, exc.value.status) == ("poster_is_preparer", 403)
    assert figures() == before
    posted = journal_entry_post(actor=people["approver"], entry_id=entry.pk)  # someone else may
    assert (posted.status, posted.posted_by_id) == (EntryStatus.POSTED, people["approver"].pk)


def test_with_the_policy_off_the_preparer_posts_as_before(world, people):
    set_policy(world, poster_not_preparer=False)
    entry = approved_by_another(world, people)
    assert journal_entry_post(actor=people["controller"], entry_id=entry.pk).status == EntryStatus.POSTED


def test_a_preparer_cannot_post_his_own_draft_either(world, people):
    entry = journal_entry_create(actor=people["preparer"], entity=world.entity, entry=world.sale("5")).entry
    with pytest.raises(PosterIsPreparerError):
        journal_entry_post(actor=people["preparer"], entry_id=entry.pk)
    assert JournalEntry.objects.get(pk=entry.pk).status == EntryStatus.DRAFT


def test_system_postings_are_excepted(world, people):
    entry = journal_entry_create(actor=people["preparer"], entity=world.entity, entry=world.sale("5")).entry
    assert journal_entry_post(actor=None, entry_id=entry.pk).status == EntryStatus.POSTED


def test_a_users_reversal_is_submitted_into_the_next_open_period_and_changes_no_balance(world, people):
    original = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("40")).entry
    balances_before = figures()[1]
    reversal = journal_entry_reverse(actor=people["controller"], entry_id=original.pk)
    assert (reversal.status, reversal.submitted_by_id, reversal.reverses_id) == (
        EntryStatus.SUBMITTED, people["controller"].pk, original.pk)
    assert (reversal.entry_date, reversal.period.code) == (date(2026, 4, 1), "2026-04")
    assert figures()[1] == balances_before
    with pytest.raises(AlreadyReversedError):  # a pending reversal counts
        journal_entry_reverse(actor=people["preparer"], entry_id=original.pk)
    journal_entry_approve(actor=people["approver"], entry_id=reversal.pk)
    with pytest.raises(PosterIsPreparerError):
        journal_entry_post(actor=people["controller"], entry_id=reversal.pk)
    posted = journal_entry_post(actor=people["approver"], entry_id=reversal.pk)
    assert posted.status == EntryStatus.POSTED
    april = Balance.objects.filter(entity_id=world.entity.pk, period_id=world.period("2026-04").pk,
                                   account_id=world.acc("1200"))
    assert list(april.values_list("functional_debit", "functional_credit")) == [(Decimal(0), Decimal("40"))]


def test_a_submitted_reversal_needs_approval_even_when_another_user_posts_it(world, people):
    set_policy(world, poster_not_preparer=False)
    original = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("40")).entry
    reversal = journal_entry_reverse(actor=people["controller"], entry_id=original.pk)
    from ledger.errors import EntryNotInStateError

    with pytest.raises(EntryNotInStateError):
        journal_entry_post(actor=people["controller"], entry_id=reversal.pk)  # not approved yet


def test_with_the_policy_off_a_reversal_posts_at_once_on_the_chosen_date(world, people):
    set_policy(world, reversal_needs_approval=False)
    original = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("40")).entry
    reversal = journal_entry_reverse(actor=people["preparer"], entry_id=original.pk, entry_date=date(2026, 3, 31))
    assert (reversal.status, reversal.posted_by_id, reversal.created_by_id) == (
        EntryStatus.POSTED, people["preparer"].pk, people["preparer"].pk)
    assert (reversal.entry_date, reversal.period.code) == (date(2026, 3, 31), "2026-03")
    march = Balance.objects.get(entity_id=world.entity.pk, period_id=world.period("2026-03").pk,
                                account_id=world.acc("1200"))
    assert (march.functional_debit, march.functional_credit) == (Decimal("40"), Decimal("40"))


def test_the_caller_chooses_the_reversals_period(world, people):
    original = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("40")).entry
    reversal = journal_entry_reverse(actor=people["preparer"], entry_id=original.pk,
                                     period_id=world.period("2026-06").pk)
    assert (reversal.entry_date, reversal.period.code) == (date(2026, 6, 1), "2026-06")


def test_the_default_date_skips_locked_and_soft_closed_periods(world, people):
    original = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("40")).entry
    lock_through(actor=None, entity_period_id=world.entity_period("2026-04").pk)
    entity_period_soft_close(actor=None, entity_period_id=world.entity_period("2026-05").pk)
    assert world.entity_period("2026-05").state == PeriodState.SOFT_CLOSED
    reversal = journal_entry_reverse(actor=people["preparer"], entry_id=original.pk)
    assert (reversal.entry_date, reversal.period.code) == (date(2026, 6, 1), "2026-06")


def test_a_reversal_is_not_dated_before_its_original_nor_into_a_locked_period(world, people):
    original = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("40")).entry
    before = figures()
    with pytest.raises(ValidationFailed) as exc:
        journal_entry_reverse(actor=people["preparer"], entry_id=original.pk, entry_date=date(2026, 3, 1))
    assert exc.value.errors[0].code == "reversal_before_original"
    lock_through(actor=None, entity_period_id=world.entity_period("2026-04").pk)
    before = figures()
    with pytest.raises(RuleViolation) as exc:
        journal_entry_reverse(actor=people["preparer"], entry_id=original.pk, entry_date=date(2026, 4, 10))
    assert exc.value.code == "period_locked"
    assert figures() == before


def test_no_open_period_after_the_original_asks_for_a_date(world, people):
    original = journal_entry_create_and_post(actor=None, entity=world.entity,
                                             entry=world.sale("40", day=date(2026, 12, 5))).entry
    with pytest.raises(RuleViolation) as exc:
        journal_entry_reverse(actor=people["preparer"], entry_id=original.pk)
    assert exc.value.code == "no_open_period"
    assert not JournalEntry.objects.filter(reverses=original).exists()
