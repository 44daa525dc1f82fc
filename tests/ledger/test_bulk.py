"""The set-based bulk path: same database checks, all or nothing, history without save()."""
import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from ledger.inputs import EntryInput, LineInput
from ledger.models import Balance, JournalEntry, JournalLine
from ledger.selectors.reports import balances_verify
from ledger.services.bulk import journal_entries_post_bulk
from sheshi.errors import RuleViolation, ValidationFailed
from tests.locking import lock_through


def entries(world, n, amount="10.0000", month=3):
    return [EntryInput(entry_date=date(2026, month, 1 + i % 28), description=f"bulk {i}", lines=[
        LineInput(account_id=world.acc("1200"), amount=Decimal(amount), source_row=2 * i + 2),
        LineInput(account_id=world.acc("4100"), amount=-Decimal(amount), source_row=2 * i + 3)])
        for i in range(n)]


def test_bulk_posts_everything_and_balances_agree(world):
    result = journal_entries_post_bulk(actor=None, entity=world.entity, entries=entries(world, 1200),
                                       import_batch_id=77)
    assert (result.entries, result.lines) == (1200, 2400)
    assert JournalEntry.objects.filter(status="posted", import_batch_id=77).count() == 1200
    b = Balance.objects.get(entity_id=world.entity.pk, account_id=world.acc("1200"))
    assert (b.functional_debit, b.line_count) == (Decimal("12000.0000"), 1200)
    assert balances_verify(organisation_id=world.org.pk) == []
    assert JournalLine.objects.filter(import_batch_id=77, source_row=3).get().functional_amount == Decimal("-10")
    assert JournalEntry.history.filter(history_type="+", import_batch_id=77).count() == 1200


def test_one_unbalanced_entry_rejects_the_whole_batch(world):
    batch = entries(world, 50)
    batch[37] = EntryInput(entry_date=date(2026, 3, 3), description="bad", lines=[
        LineInput(account_id=world.acc("1200"), amount=Decimal("1"), source_row=500),
        LineInput(account_id=world.acc("4100"), amount=Decimal("-0.9"), source_row=501)])
    with pytest.raises(ValidationFailed) as exc:
        journal_entries_post_bulk(actor=None, entity=world.entity, entries=batch)
    assert [(e.field, e.row) for e in exc.value.errors] == [("entries[37].lines", 500)]
    assert JournalEntry.objects.count() == JournalLine.objects.count() == Balance.objects.count() == 0


def test_database_refuses_a_bulk_batch_on_a_group_account(world):
    batch = entries(world, 5)
    batch[2] = EntryInput(entry_date=date(2026, 3, 3), description="group", lines=[
        LineInput(account_id=world.acc("1000"), amount=Decimal("1")),
        LineInput(account_id=world.acc("4100"), amount=Decimal("-1"))])
    with pytest.raises(RuleViolation) as exc:
        journal_entries_post_bulk(actor=None, entity=world.entity, entries=batch)
    assert exc.value.code == "line_invalid" and "not an active posting account" in exc.value.detail
    assert JournalEntry.objects.count() == JournalLine.objects.count() == 0


def test_bulk_into_a_locked_period_is_refused(world):
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    with pytest.raises(RuleViolation) as exc:
        journal_entries_post_bulk(actor=None, entity=world.entity, entries=entries(world, 3))
    assert exc.value.code == "period_locked"
    assert JournalEntry.objects.count() == 0


def test_bulk_refuses_sources_that_need_approval(world):
    world.entity.approval_required_sources = ["import"]
    world.entity.save()
    with pytest.raises(RuleViolation):
        journal_entries_post_bulk(actor=None, entity=world.entity, entries=entries(world, 1))
    assert JournalEntry.objects.count() == 0


def test_one_batch_carries_each_entrys_own_source(world):
    """A consolidation run posts translation and elimination journals as one batch: each entry
    keeps its source, in input order; an entry's source that needs approval is refused like the
    batch's own."""
    batch = entries(world, 4)
    batch = [dataclasses.replace(e, source=s) for e, s in zip(batch, ["translation", "translation", None,
                                                                      "elimination"], strict=True)]
    result = journal_entries_post_bulk(actor=None, entity=world.entity, entries=batch)
    assert list(JournalEntry.objects.filter(pk__in=result.entry_ids()).order_by("pk")
                .values_list("source", flat=True)) == ["translation", "translation", "import", "elimination"]
    world.entity.approval_required_sources = ["manual"]
    world.entity.save()
    with pytest.raises(RuleViolation) as exc:
        journal_entries_post_bulk(actor=None, entity=world.entity,
                                  entries=[dataclasses.replace(entries(world, 1)[0], source="manual")])
    assert exc.value.code == "entry_needs_approval"
    assert JournalEntry.objects.count() == 4


def test_free_text_reaches_the_database_exactly_as_given(world):
    """The bulk path writes COPY text by hand: tabs, newlines, backslashes and non-ASCII text in
    descriptions, memos, raw source rows and dimensions must not shift or change a column."""
    tricky = "a\tb\nc\\d\r\\N é €"
    batch = [EntryInput(entry_date=date(2026, 3, 3), description=tricky, lines=[
        LineInput(account_id=world.acc("1200"), amount=Decimal("1.5"), memo=tricky, source_raw=tricky,
                  dimensions={"cost_centre": tricky, "n": 1}, source_row=7),
        LineInput(account_id=world.acc("4100"), amount=Decimal("-1.5"))])]
    journal_entries_post_bulk(actor=None, entity=world.entity, entries=batch, import_batch_id=5)
    entry = JournalEntry.objects.get()
    first, second = JournalLine.objects.order_by("line_no")
    assert entry.description == tricky
    assert (first.memo, first.source_raw, first.dimensions) == (tricky, tricky, {"cost_centre": tricky, "n": 1})
    assert (first.source_row, first.import_batch_id, first.amount) == (7, 5, Decimal("1.5"))
    assert (second.memo, second.source_raw, second.dimensions, second.source_row) == ("", "", {}, None)


def test_statistics_are_refreshed_only_when_a_chunk_doubles_the_line_table(world):
    """ledger_analyze_if_grown (ledger/sql/0027): it ran ANALYZE for every batch of 10,000+ lines
    adding over a fifth of the table — every batch of a young table, 0.1-0.3 s each. The bulk path
    asks once per chunk, with the chunk's lines."""
    from django.db import connection

    # 12,000 lines: a first chunk of 10,000 (analysed: the table was empty), a second of 2,000 (not).
    journal_entries_post_bulk(actor=None, entity=world.entity, entries=entries(world, 6000))
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE oid = 'ledger_journalline'::regclass")
        assert cur.fetchone()[0] == 10000
        got = []
        for n in (9999, 10000, 11999, 12000):  # analyses at 10,000; then the table is known at 12,000
            cur.execute("SELECT ledger_analyze_if_grown(%s)", [n])
            got.append(cur.fetchone()[0])
        assert got == [False, True, False, True]
