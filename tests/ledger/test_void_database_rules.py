"""Void rules (ledger/sql/0017_entry_void.sql), attacked with raw SQL as the application's role:
only drafts and submitted entries become void, only with a reason, and a void entry never
changes again. Each attempt is refused by its named rule and changes nothing."""
import pytest

from ledger.services.entries import journal_entry_create, journal_entry_create_and_post, journal_entry_void
from tests.ledger.test_database_rules import snapshot
from tests.rules import raw, refused

pytestmark = pytest.mark.django_db

VOID_SQL = "UPDATE ledger_journalentry SET status = 'void', voided_at = now(), void_reason = %s WHERE id = %s"


@pytest.fixture
def draft(world):
    return journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry


@pytest.fixture
def void(world):
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("20")).entry
    return journal_entry_void(actor=None, entry_id=entry.pk, reason="entered twice")


def test_voiding_without_a_reason_is_refused(draft):
    before = snapshot()
    refused("entry_void_has_reason", VOID_SQL, [" ", draft.pk])
    refused("entry_void_has_reason", "UPDATE ledger_journalentry SET status = 'void', void_reason = 'x' WHERE id = %s",
            [draft.pk])  # no time
    assert snapshot() == before


def test_voiding_a_posted_entry_is_refused(world):
    posted = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100")).entry
    before = snapshot()
    refused("ledger_posted_entry_immutable", VOID_SQL, ["wrong", posted.pk])
    assert snapshot() == before


def test_voiding_an_approved_entry_is_refused(draft):
    raw("UPDATE ledger_journalentry SET status = 'submitted' WHERE id = %s", [draft.pk])
    raw("UPDATE ledger_journalentry SET status = 'approved' WHERE id = %s", [draft.pk])
    before = snapshot()
    refused("ledger_entry_transition_invalid", VOID_SQL, ["late", draft.pk])
    assert snapshot() == before


def test_a_submitted_entry_can_be_voided_by_sql_with_a_reason(draft):
    raw("UPDATE ledger_journalentry SET status = 'submitted' WHERE id = %s", [draft.pk])
    raw(VOID_SQL, ["withdrawn", draft.pk])
    assert raw("SELECT status, void_reason FROM ledger_journalentry WHERE id = %s", [draft.pk]) == [
        ("void", "withdrawn")]


def test_a_void_entry_never_changes_and_is_never_deleted(void):
    before = snapshot()
    refused("ledger_void_entry_immutable", "UPDATE ledger_journalentry SET status = 'draft' WHERE id = %s", [void.pk])
    refused("ledger_void_entry_immutable", "UPDATE ledger_journalentry SET void_reason = 'other' WHERE id = %s",
            [void.pk])
    refused("ledger_void_entry_immutable", "UPDATE ledger_journalentry SET status = 'posted', posted_at = now() "
            "WHERE id = %s", [void.pk])
    refused("ledger_void_entry_immutable", "DELETE FROM ledger_journalentry WHERE id = %s", [void.pk])
    assert snapshot() == before


def test_the_lines_of_a_void_entry_cannot_change(void):
    before = snapshot()
    refused("ledger_line_entry_not_draft", "UPDATE ledger_journalline SET memo = 'edited' WHERE entry_id = %s",
            [void.pk])
    refused("ledger_line_entry_not_draft", "DELETE FROM ledger_journalline WHERE entry_id = %s", [void.pk])
    assert snapshot() == before
