"""The demo: a year of journals with the first quarter locked for every entity, through the services."""
import pytest

from ledger.selectors.lock_snapshots import lock_snapshot_verify
from ledger.services.entries import journal_entry_create_and_post
from periods.demo import lock_demo_periods
from periods.models import EntityPeriod
from tests.periods.helpers import state

pytestmark = pytest.mark.django_db


def test_lock_demo_periods_locks_q1_of_every_entity_with_verified_snapshots(world):
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    snaps = lock_demo_periods(world.org)
    assert [(s.entity_period.entity.code, s.entity_period.period.code) for s in snaps] == [
        (e, p) for p in ("2026-01", "2026-02", "2026-03") for e in ("ACME-DE", "ACME-US")]
    assert all(lock_snapshot_verify(entity_period_id=s.entity_period_id)[0] for s in snaps)
    assert set(EntityPeriod.objects.filter(organisation=world.org, state="locked")
               .values_list("period__code", flat=True)) == {"2026-01", "2026-02", "2026-03"}
    # Safe to run twice: nothing changes the second time.
    before = state()
    assert [s.pk for s in lock_demo_periods(world.org)] == [s.pk for s in snaps]
    assert state() == before


def test_posting_into_a_demo_locked_period_is_refused(world):
    from sheshi.errors import SheshiError

    lock_demo_periods(world.org)
    before = state()
    with pytest.raises(SheshiError) as exc:
        journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("1"))
    assert exc.value.code == "period_locked"
    assert state() == before
