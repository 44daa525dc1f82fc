"""Two editors holding the same version of a draft write at the same moment: the If-Match check
runs under the entry's row lock, so exactly one wins and the other is told it is stale."""
from datetime import date
from decimal import Decimal

import pytest

from ledger.etags import journal_entry_etag
from ledger.inputs import EntryInput, LineInput
from ledger.models import JournalEntry
from ledger.services.entries import journal_entry_create, journal_entry_update
from sheshi.errors import PreconditionFailed
from tests.concurrency import run_threads
from tests.ledger.helpers import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_edits_with_the_same_etag_one_wins_one_is_412():
    world = build_world("ETAG")

    def draft(description: str) -> EntryInput:
        return EntryInput(entry_date=date(2026, 3, 10), description=description, lines=[
            LineInput(account_id=world.acc("1200"), amount=Decimal("10.0000")),
            LineInput(account_id=world.acc("4100"), amount=Decimal("-10.0000"))])

    entry_id = journal_entry_create(actor=None, entity=world.entity, entry=draft("original")).entry.pk
    tag = journal_entry_etag(JournalEntry.objects.prefetch_related("lines").get(pk=entry_id))

    def edit(i: int) -> None:
        journal_entry_update(actor=None, entry_id=entry_id, entry=draft(f"writer {i}"), if_match=[tag])

    errors = run_threads(2, edit)
    assert len(errors) == 1 and isinstance(errors[0], PreconditionFailed), errors
    assert JournalEntry.objects.get(pk=entry_id).description in {"writer 0", "writer 1"}
