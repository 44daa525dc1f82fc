"""Two generators of the same period at the same moment (the daily schedule and a controller's
command): the run key recurrence_run_once admits one draft; the other run answers "already"."""
from datetime import date

import pytest

from ledger.models import JournalEntry, JournalRecurrenceRun
from ledger.services.entries import journal_entry_create
from ledger.services.recurring import journal_recurrence_create, recurring_entries_generate
from ledger.services.templates import journal_template_create
from tests.concurrency import run_threads
from tests.factories import user_with_role
from tests.ledger.helpers import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_generators_draft_each_recurrence_once():
    world = build_world("RACE")
    owner = user_with_role(world.entity, "preparer")
    source = journal_entry_create(actor=owner, entity=world.entity, entry=world.sale("40", day=date(2026, 12, 1))).entry
    template = journal_template_create(actor=owner, entry_id=source.pk, name="Fee")
    journal_recurrence_create(actor=owner, template_id=template.pk, start_period_id=world.period("2026-04").pk)
    statuses: list[str] = []

    def generate(i: int) -> None:
        statuses.extend(o.status for o in recurring_entries_generate(period=world.period("2026-04")))

    assert run_threads(4, generate) == []
    assert sorted(statuses) == ["already_generated"] * 3 + ["generated"]
    run = JournalRecurrenceRun.objects.get()
    assert list(JournalEntry.objects.exclude(pk=source.pk).values_list("pk", flat=True)) == [run.entry_id]
