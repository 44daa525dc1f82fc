"""The bulk path's chunk pipeline (ledger/services/bulk.py): a batch is moved into the ledger chunk by
chunk on a second thread while the next chunk is built, in one transaction - so a refusal in any
chunk leaves nothing, and what lands is what one statement would have written."""
import threading
from datetime import date
from decimal import Decimal

import pytest

from ledger.inputs import EntryInput, LineInput
from ledger.models import Balance, JournalEntry, JournalLine
from ledger.selectors.reports import balances_verify
from ledger.services import bulk
from ledger.services.bulk import journal_entries_post_bulk
from sheshi.errors import RuleViolation, ValidationFailed
from tests.ledger.test_bulk import entries
from tests.locking import lock_through


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of at most 40 entries or 60 lines, so a test batch spans several."""
    monkeypatch.setattr(bulk, "CHUNK_ENTRIES", 40)
    monkeypatch.setattr(bulk, "CHUNK_LINES", 60)


def test_chunks_close_at_the_entry_or_the_line_limit():
    def entry(n_lines):
        return EntryInput(entry_date=date(2026, 3, 1), description="",
                          lines=[LineInput(account_id=1, amount=Decimal(1))] * n_lines)
    sizes = [[len(e.lines) for e in c] for c in bulk._chunks([entry(2)] * 5 + [entry(7), entry(1)], 3, 8)]
    assert sizes == [[2, 2, 2], [2, 2, 7], [1]]


def test_a_batch_of_many_chunks_lands_as_one(world, small_chunks):
    batch = entries(world, 130)  # chunks of 30 entries (60 lines): 30, 30, 30, 30, 10
    result = journal_entries_post_bulk(actor=None, entity=world.entity, entries=batch, import_batch_id=9)
    assert (result.entries, result.lines) == (130, 260)
    ids = result.entry_ids()
    assert len(ids) == 130 and ids == sorted(ids) and (result.first_entry_id, result.last_entry_id) == (ids[0], ids[-1])
    # Each entry in input order under its id, its lines under it in line order, line ids ascending.
    posted = dict(JournalEntry.objects.filter(status="posted").values_list("pk", "description"))
    assert [posted[i] for i in ids] == [f"bulk {i}" for i in range(130)]
    lines = list(JournalLine.objects.order_by("pk").values_list("entry_id", "line_no", "source_row"))
    assert lines == [(ids[i], no, 2 * i + 1 + no) for i in range(130) for no in (1, 2)]
    assert balances_verify(organisation_id=world.org.pk) == []
    assert JournalEntry.history.filter(history_type="+", import_batch_id=9).count() == 130


def test_a_database_refusal_in_a_later_chunk_rolls_back_the_chunks_already_in(world, small_chunks):
    batch = entries(world, 100)
    batch[95] = EntryInput(entry_date=date(2026, 3, 3), description="group", lines=[
        LineInput(account_id=world.acc("1000"), amount=Decimal("1")),
        LineInput(account_id=world.acc("4100"), amount=Decimal("-1"))])
    with pytest.raises(RuleViolation) as exc:
        journal_entries_post_bulk(actor=None, entity=world.entity, entries=batch)
    assert exc.value.code == "line_invalid"
    assert JournalEntry.objects.count() == JournalLine.objects.count() == Balance.objects.count() == 0


def test_a_locked_period_met_in_a_later_chunk_refuses_the_whole_batch(world, small_chunks):
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    batch = entries(world, 70, month=4) + entries(world, 10, month=3)
    with pytest.raises(RuleViolation):
        journal_entries_post_bulk(actor=None, entity=world.entity, entries=batch)
    assert JournalEntry.objects.count() == JournalLine.objects.count() == Balance.objects.count() == 0


def test_refusals_found_after_chunks_were_sent_list_every_one_and_leave_nothing(world, small_chunks):
    batch = entries(world, 100)
    for i in (70, 99):
        batch[i] = EntryInput(entry_date=date(2026, 3, 3), description="bad", lines=[
            LineInput(account_id=world.acc("1200"), amount=Decimal("1"), source_row=900 + i),
            LineInput(account_id=world.acc("4100"), amount=Decimal("-0.9"))])
    with pytest.raises(ValidationFailed) as exc:
        journal_entries_post_bulk(actor=None, entity=world.entity, entries=batch)
    assert [(e.field, e.row) for e in exc.value.errors] == [("entries[70].lines", 970), ("entries[99].lines", 999)]
    assert JournalEntry.objects.count() == JournalLine.objects.count() == Balance.objects.count() == 0


def test_the_next_chunk_is_built_while_the_previous_one_is_posted(world, small_chunks, monkeypatch):
    """The first chunk's move waits until the caller's generator has been asked for an entry of the
    next chunk: with the chunks moved one after the other (build, post, build, post) it would wait
    forever, and the test fails on the timeout."""
    building_next = threading.Event()
    real = bulk._chunk_post
    waited = []

    def chunk_post(*args, **kwargs):
        if not waited:
            waited.append(building_next.wait(timeout=10))
        return real(*args, **kwargs)
    monkeypatch.setattr(bulk, "_chunk_post", chunk_post)

    def generated():
        for i, e in enumerate(entries(world, 90)):
            if i == 31:  # the second chunk (entries 30-59) is being built
                building_next.set()
            yield e
    result = journal_entries_post_bulk(actor=None, entity=world.entity, entries=generated())
    assert waited == [True]
    assert result.entries == 90 and JournalEntry.objects.filter(status="posted").count() == 90
