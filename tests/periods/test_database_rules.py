"""Entity-period rules attacked with raw SQL as the application's role (periods/sql): PostgreSQL
refuses each with its named rule and nothing changes."""
from __future__ import annotations

import pytest

from ledger.services.entries import journal_entry_create
from periods.models import EntityPeriod
from periods.services.transitions import entity_period_lock, entity_period_soft_close
from tests.ledger.helpers import build_world
from tests.periods.helpers import state
from tests.rules import raw, refused

pytestmark = pytest.mark.django_db


def where(ep: EntityPeriod) -> list[tuple]:
    return list(EntityPeriod.objects.filter(pk=ep.pk).values_list("organisation_id", "entity_id", "period_id",
                                                                   "state"))


def test_a_soft_closed_or_locked_entity_period_cannot_be_deleted(world):
    soft, locked = world.entity_period("2026-02"), world.entity_period("2026-01")
    entity_period_soft_close(actor=None, entity_period_id=soft.pk)
    entity_period_lock(actor=None, entity_period_id=locked.pk, reason="January closed")
    before = state()
    for ep in (soft, locked):
        msg = refused("periods_state_transition_invalid", "DELETE FROM periods_entityperiod WHERE id = %s", [ep.pk])
        assert msg == f"entity period {ep.pk} has entries or is not open: it cannot be deleted"
    assert state() == before
    assert where(soft) == [(world.org.pk, world.entity.pk, soft.period_id, "soft_closed")]
    assert where(locked) == [(world.org.pk, world.entity.pk, locked.period_id, "locked")]


def test_an_open_entity_period_with_entries_cannot_be_deleted_but_an_empty_one_can(world):
    journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30"))  # a draft in March
    march, empty = world.entity_period("2026-03"), world.entity_period("2026-03", entity=world.other)
    before = state()
    refused("periods_state_transition_invalid", "DELETE FROM periods_entityperiod WHERE id = %s", [march.pk])
    assert state() == before
    raw("DELETE FROM periods_entityperiod WHERE id = %s", [empty.pk])  # open, no entries: allowed
    assert where(empty) == [] and where(march) == [(world.org.pk, world.entity.pk, march.period_id, "open")]


def test_an_entity_period_cannot_be_re_pointed(world):
    foreign = build_world("OTHER")
    ep = world.entity_period("2026-03")
    before = (state(), where(ep))
    msg = refused("periods_state_transition_invalid", "UPDATE periods_entityperiod SET period_id = %s WHERE id = %s",
                  [world.period("2026-04").pk, ep.pk])
    assert msg == f"entity period {ep.pk} cannot be re-pointed"
    refused("periods_state_transition_invalid", "UPDATE periods_entityperiod SET entity_id = %s WHERE id = %s",
            [world.other.pk, ep.pk])
    refused("periods_state_transition_invalid",
            "UPDATE periods_entityperiod SET organisation_id = %s, entity_id = %s, period_id = %s WHERE id = %s",
            [foreign.org.pk, foreign.entity.pk, foreign.period("2026-03").pk, ep.pk])
    assert (state(), where(ep)) == before


# Issue #15: an entity's periods lock oldest first and reopen newest first (periods/sql/0007).

def test_a_month_cannot_lock_while_an_earlier_one_is_open(world):
    before = state()
    msg = refused("periods_lock_out_of_order", "UPDATE periods_entityperiod SET state = 'locked' WHERE id = %s",
                  [world.entity_period("2026-06", world.other).pk])
    assert msg == ("period 2026-06 cannot lock while the earlier period 2026-01 is open for this entity: "
                   "lock periods oldest first")
    assert state() == before


def test_a_month_cannot_reopen_while_a_later_one_is_locked(world):
    for code in ("2026-01", "2026-02"):
        entity_period_lock(actor=None, entity_period_id=world.entity_period(code).pk)
    before = state()
    msg = refused("periods_reopen_out_of_order", "UPDATE periods_entityperiod SET state = 'open', "
                  "reason = 'late invoice' WHERE id = %s", [world.entity_period("2026-01").pk])
    assert msg == ("period 2026-01 cannot reopen while the later period 2026-02 is locked for this entity: "
                   "reopen periods newest first")
    assert state() == before
    raw("UPDATE periods_entityperiod SET state = 'open', reason = 'late invoice' WHERE id = %s",
        [world.entity_period("2026-02").pk])  # newest first: allowed


# Issue #20: every move between the three states is one some service makes (soft-close, lock from
# open or soft-closed, reopen to open or soft-closed), so the rule refuses a state outside the
# three, not a move; the old list of all six moves spelled that out as a transition table.

def test_every_move_between_the_three_states_is_allowed_in_sql(world):
    ep = world.entity_period("2026-01")
    moves = [("soft_closed", ""), ("locked", ""), ("soft_closed", "late invoice"), ("open", "late invoice"),
             ("locked", "closed again"), ("open", "second late invoice")]
    seen = []
    for to, reason in moves:
        raw("UPDATE periods_entityperiod SET state = %s, reason = %s WHERE id = %s", [to, reason, ep.pk])
        seen.append(where(ep)[0][3])
    assert seen == [to for to, _ in moves]


def test_an_entity_period_cannot_move_to_a_state_outside_the_three(world):
    ep = world.entity_period("2026-03")
    before = state()
    msg = refused("periods_state_transition_invalid",
                  "UPDATE periods_entityperiod SET state = 'archived' WHERE id = %s", [ep.pk])
    assert msg == f"entity period {ep.pk} cannot move to archived: a period is open, soft_closed or locked"
    assert state() == before
