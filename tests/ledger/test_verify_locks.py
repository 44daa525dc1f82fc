"""verify_locks (issue #14): every locked entity-period recomputed against the snapshot the
database took at the lock. The tampering is done as the schema owner (a DBA, or the app role
before the snapshot became the database's own): the check must see it."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger.services.entries import journal_entry_create_and_post
from tests.ledger.helpers import build_world
from tests.locking import lock_through

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def locked(db):
    world = build_world("VL")
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    ep = world.entity_period("2026-03")
    lock_through(actor=None, entity_period_id=ep.pk)
    return world, ep


def verify() -> str:
    out = io.StringIO()
    call_command("verify_locks", stdout=out, stderr=out)
    return out.getvalue()


def test_untouched_locked_periods_match_their_snapshots(locked):
    assert "3 locked periods match their lock snapshots: 0 differences" in verify()


def test_a_changed_locked_balance_is_reported(locked, owner_sql):
    world, ep = locked
    owner_sql.execute("UPDATE ledger_balance SET functional_debit = functional_debit + 1000000 "
                      "WHERE entity_id = %s AND period_id = %s", [world.entity.pk, ep.period_id])
    with pytest.raises(CommandError, match="1 of 3 locked periods differ"):
        verify()


def test_a_snapshot_rewritten_to_match_a_change_is_reported(locked, owner_sql):
    _world, ep = locked
    with owner_sql.transaction():
        owner_sql.execute("ALTER TABLE periods_periodlocksnapshot DISABLE TRIGGER USER")
        owner_sql.execute("""UPDATE periods_periodlocksnapshot
                                SET trial_balance = jsonb_set(trial_balance, '{0,3}', '"1000100.0000"')
                              WHERE entity_period_id = %s""", [ep.pk])
        owner_sql.execute("ALTER TABLE periods_periodlocksnapshot ENABLE TRIGGER USER")
    with pytest.raises(CommandError) as exc:
        call_command("verify_locks", stdout=io.StringIO(), stderr=(err := io.StringIO()))
    assert "locked periods differ" in str(exc.value)
    assert "the snapshot was edited" in err.getvalue()


def test_nothing_posts_before_a_locked_period_even_when_the_order_rule_was_bypassed(owner_sql):
    """Periods lock oldest first (periods_lock_out_of_order), so an open month before a locked one
    cannot arise through the application. If it does anyway (an owner fixing data by hand with the
    ordering trigger off), the posting rule still refuses: the locked month's cumulative figures
    would move."""
    from datetime import date

    from django.db import DatabaseError

    from ledger.services.entries import journal_entry_create, journal_entry_post

    world = build_world("LP")
    june = world.entity_period("2026-06")
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('sheshi.actor_label', 'system:tests-owner', true), "
                          "set_config('sheshi.org_ids', '*', true)")
        owner_sql.execute("ALTER TABLE periods_entityperiod DISABLE TRIGGER periods_close_order_guard")
        owner_sql.execute("UPDATE periods_entityperiod SET state = 'locked' WHERE id = %s", [june.pk])
        owner_sql.execute("ALTER TABLE periods_entityperiod ENABLE TRIGGER periods_close_order_guard")
    draft = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("40", day=date(2026, 4, 9))).entry
    with pytest.raises(DatabaseError, match="before the locked period 2026-06") as exc:
        journal_entry_post(actor=None, entry_id=draft.pk)
    assert exc.value.__cause__.diag.constraint_name == "ledger_later_period_locked"
