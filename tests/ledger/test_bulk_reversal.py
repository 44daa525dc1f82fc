"""Set-based reversal of many posted entries: the same entries as one-by-one reversal (lines
negated, source 'reversal', pointing to the original, history), balances back to zero, and the
same refusals (already reversed, not posted, dated before the original), all or nothing."""
from datetime import date
from decimal import Decimal

import pytest

from ledger.errors import AlreadyReversedError, EntryNotInStateError
from ledger.models import Balance, EntrySource, EntryStatus, JournalEntry, JournalLine
from ledger.selectors.reports import balances_verify
from ledger.services.bulk import journal_entries_post_bulk
from ledger.services.bulk_reversal import journal_entries_reverse_posted_bulk
from ledger.services.entries import journal_entry_create, journal_entry_reverse_posted
from sheshi.errors import ValidationFailed
from tests.ledger.test_bulk import entries


def posted(world, n):
    result = journal_entries_post_bulk(actor=None, entity=world.entity, entries=entries(world, n))
    return result.entry_ids()


def reversal_shape(reversal_id: int) -> tuple:
    e = JournalEntry.objects.get(pk=reversal_id)
    lines = list(JournalLine.objects.filter(entry_id=reversal_id).order_by("line_no").values_list(
        "line_no", "account_id", "currency", "amount", "rate", "functional_amount", "counterparty_id", "dimensions",
        "memo", "source_row", "source_raw", "period_id"))
    return (e.source, e.status, e.entry_date, e.period_id, e.reference, e.created_by_id, e.posted_by_id), lines


def test_bulk_reversal_writes_what_one_by_one_reversal_writes_and_balances_return_to_zero(world):
    ids = posted(world, 4)
    period_id = world.entity_period("2026-03").period_id
    one = journal_entry_reverse_posted(actor=None, entry_id=ids[0], entry_date=date(2026, 3, 31), period_id=period_id,
                                       description="one").pk
    many = journal_entries_reverse_posted_bulk(actor=None, entity=world.entity, entry_ids=ids[1:],
                                               entry_date=date(2026, 3, 31), period_id=period_id,
                                               descriptions=["two", "three", "four"])
    assert len(many) == 3 and many == sorted(many)
    assert [JournalEntry.objects.get(pk=r).reverses_id for r in many] == ids[1:]
    assert [JournalEntry.objects.get(pk=r).description for r in many] == ["two", "three", "four"]
    shape = reversal_shape(one)
    assert shape[0] == (EntrySource.REVERSAL, EntryStatus.POSTED, date(2026, 3, 31), period_id, "", None, None)
    for r in many:
        assert reversal_shape(r) == shape
    assert JournalEntry.history.filter(id__in=many, history_type="+").count() == 3
    assert {b.functional_debit - b.functional_credit for b in Balance.objects.filter(entity_id=world.entity.pk)} \
        == {Decimal(0)}
    assert balances_verify(organisation_id=world.org.pk) == []


@pytest.mark.parametrize("case", ["already_reversed", "before_original", "not_posted"])
def test_bulk_reversal_refuses_as_a_whole(world, case):
    ids = posted(world, 3)
    period_id = world.entity_period("2026-03").period_id
    on = date(2026, 3, 31)
    if case == "already_reversed":
        journal_entry_reverse_posted(actor=None, entry_id=ids[1], entry_date=on, period_id=period_id)
        error = AlreadyReversedError
    elif case == "before_original":
        on, error = date(2026, 3, 2), ValidationFailed  # the third entry is dated 2026-03-03
    else:
        ids[2] = journal_entry_create(actor=None, entity=world.entity, source=EntrySource.MANUAL,
                                      entry=entries(world, 1)[0]).entry.pk  # a draft
        error = EntryNotInStateError
    before = (JournalEntry.objects.count(), JournalLine.objects.count())
    with pytest.raises(error):
        journal_entries_reverse_posted_bulk(actor=None, entity=world.entity, entry_ids=ids, entry_date=on,
                                            period_id=period_id, descriptions=["r"] * len(ids))
    assert (JournalEntry.objects.count(), JournalLine.objects.count()) == before
