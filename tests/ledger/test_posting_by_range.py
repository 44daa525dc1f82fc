"""The posting rule and the lines guard read a statement's lines and entries by index range over
runs of consecutive entry ids (ledger/sql/0034): entries posted by one statement whose ids are
not consecutive, with other entries between them, are checked and summed exactly as before —
nothing of the entries in between is read into the posting, held, or refused."""
from decimal import Decimal

import pytest

from ledger.models import JournalEntry
from ledger.services.entries import journal_entry_create, journal_entry_create_and_post
from tests.rules import raw, refused

POST = "UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = ANY (%s)"


def balances_equal_recomputation():
    rows = raw("""
        SELECT l.entity_id, l.account_id, l.period_id, l.currency, sum(l.amount), sum(greatest(l.functional_amount, 0)),
               sum(greatest(-l.functional_amount, 0)), count(*)
          FROM ledger_journalline l JOIN ledger_journalentry e ON e.id = l.entry_id
         WHERE e.status = 'posted' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""")
    stored = raw("SELECT entity_id, account_id, period_id, currency, amount, functional_debit, functional_credit, "
                 "line_count FROM ledger_balance WHERE line_count > 0 ORDER BY 1, 2, 3, 4")
    return rows == stored


@pytest.fixture
def gapped(world):
    """Drafts a, b, c with a posted entry and a draft between a and b: a..c are not one run of ids."""
    a = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("10")).entry
    between_posted = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("1000")).entry
    between_draft = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("5000")).entry
    b = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("20")).entry
    c = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    assert a.pk < between_posted.pk < between_draft.pk < b.pk < c.pk
    return a, b, c, between_posted, between_draft


def test_entries_posted_in_runs_add_their_own_lines_to_the_balances_once(world, gapped):
    a, b, c, _between_posted, between_draft = gapped
    receivable = Decimal(raw("SELECT functional_debit FROM ledger_balance WHERE account_id = %s",
                             [world.acc("1200")])[0][0])
    raw(POST, [[a.pk, b.pk, c.pk]])
    assert set(JournalEntry.objects.filter(pk__in=[a.pk, b.pk, c.pk]).values_list("status", flat=True)) == {"posted"}
    assert JournalEntry.objects.get(pk=between_draft.pk).status == "draft"
    after = Decimal(raw("SELECT functional_debit FROM ledger_balance WHERE account_id = %s",
                        [world.acc("1200")])[0][0])
    assert after - receivable == Decimal("60")  # a, b and c; not the draft between them
    assert balances_equal_recomputation()


def test_an_unbalanced_entry_in_a_later_run_is_named(world, gapped):
    a, b, c, *_ = gapped
    raw("UPDATE ledger_journalline SET amount = 21, functional_amount = 21 WHERE entry_id = %s AND line_no = 1",
        [b.pk])
    msg = refused("ledger_entry_unbalanced", POST, [[a.pk, b.pk, c.pk]])
    assert f"journal entry {b.pk} does not balance" in msg
    assert balances_equal_recomputation()


def test_an_entry_without_lines_among_balanced_ones_is_refused(world):
    """The hashed pass counts the entries that pass; one without lines is missing from it, and the
    exact query names it."""
    good = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("10")).entry
    empty = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("20")).entry
    raw("DELETE FROM ledger_journalline WHERE entry_id = %s", [empty.pk])
    msg = refused("ledger_entry_unbalanced", POST, [[good.pk, empty.pk]])
    assert f"journal entry {empty.pk} does not balance: functional amounts sum to 0 over 0 lines" in msg


def test_an_invalid_line_among_balanced_entries_is_named_with_its_line(world):
    first = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("10")).entry
    second = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("20")).entry
    raw("UPDATE ledger_journalline SET account_id = %s WHERE entry_id = %s AND line_no = 2",
        [world.acc("1000"), second.pk])  # a group account
    msg = refused("ledger_line_invalid", POST, [[first.pk, second.pk]])
    assert f"journal entry {second.pk} line 2: account 1000 " in msg


def test_lines_for_drafts_around_a_posted_entry_are_taken(world, gapped):
    """The guard bounds the entries it looks up by the lines' lowest and highest entry id: a posted
    entry inside that range but without a line in the statement is not refused."""
    a, b, _c, between_posted, _between_draft = gapped
    raw("""
        INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
            currency, amount, rate, functional_amount, dimensions, memo, source_raw)
        SELECT organisation_id, entity_id, period_id, id, 9, %s, 'EUR', 1, 1, 1, '{}', '', ''
          FROM ledger_journalentry WHERE id = ANY (%s)""", [world.acc("1100"), [a.pk, b.pk]])
    assert raw("SELECT count(*) FROM ledger_journalline WHERE line_no = 9")[0][0] == 2
    refused("ledger_line_entry_not_draft", """
        INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
            currency, amount, rate, functional_amount, dimensions, memo, source_raw)
        SELECT organisation_id, entity_id, period_id, id, 8, %s, 'EUR', 1, 1, 1, '{}', '', ''
          FROM ledger_journalentry WHERE id = ANY (%s)""", [world.acc("1100"), [a.pk, between_posted.pk, b.pk]])


def test_the_batch_is_read_by_range(db):
    """0034 is in place: the guard bounds the entry look-up by the lines' entry ids (0013's
    semi-join alone was planned as a hash join over the whole entry table), and the posting rule
    reads the lines by range and checks them in a hashed pass before any exact query."""
    guard, = raw("SELECT prosrc FROM pg_proc WHERE proname = 'ledger_lines_guard'")[0]
    assert "e.id BETWEEN v_min AND v_max AND e.id IN (SELECT id FROM ids)" in guard
    posting, = raw("SELECT prosrc FROM pg_proc WHERE proname = 'ledger_entries_posted'")[0]
    assert "JOIN ledger_journalline l ON l.entry_id BETWEEN run.lo AND run.hi" in posting
    assert "IF n_passed < n_posted THEN" in posting


def test_an_entitys_closing_entries_are_found_by_their_own_index(world):
    """The closed-fiscal-year check of every posting looks up the entity's posted closing entries;
    a partial index holds only closing entries, so the look-up does not read the entity's ledger."""
    for amount in ("1", "2", "3"):
        journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale(amount))
    raw("SET LOCAL enable_seqscan = off")
    plan = "\n".join(r[0] for r in raw(
        "EXPLAIN SELECT c.id FROM ledger_journalentry c WHERE c.entity_id = %s AND c.source = 'closing' "
        "AND c.status = 'posted'", [world.entity.pk]))
    assert "entry_closing_by_entity" in plan, plan
