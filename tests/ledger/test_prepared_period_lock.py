"""The period share lock every single posting starts with is a statement prepared once per
connection (sheshi/db/compiled.py). A migration that adds a column to the period table while
workers run must not break it: a prepared ``SELECT p.*`` would fail with "cached plan must not
change result type" on every posting of every long-lived connection until it reconnected."""
from datetime import date

import pytest

from ledger import locks
from tests.ledger.helpers import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _lock(world, period_id):
    return locks.entry_period_share_lock(entity_id=world.entity.pk, organisation_id=world.org.pk,
                                         period_id=period_id, entry_date=date(2026, 3, 10))


def test_the_prepared_period_lock_survives_a_column_added_meanwhile(owner_sql):
    world = build_world("PREP")
    march = world.period("2026-03")
    assert _lock(world, march.pk).code == "2026-03" and _lock(world, None).code == "2026-03"  # both prepared
    owner_sql.execute("ALTER TABLE periods_period ADD COLUMN sheshi_probe integer")
    try:
        by_id, by_date = _lock(world, march.pk), _lock(world, None)
    finally:
        owner_sql.execute("ALTER TABLE periods_period DROP COLUMN sheshi_probe")
    assert (by_id.pk, by_id.entity_state, by_date.pk) == (march.pk, "open", march.pk)
    assert by_id.new_entry_id != by_date.new_entry_id  # each call reserves its own entry id
