"""A consolidation group's period locks only once every member entity is locked; while it
stands, no member can be reopened."""
import pytest
from django.db import DatabaseError

from periods.models import GroupPeriodLock
from periods.services.close import entity_periods_move
from periods.services.group_lock import group_period_lock, group_period_unlock
from periods.services.transitions import entity_period_reopen
from sheshi.errors import SheshiError
from tests.factories import user_with_role
from tests.locking import lock_through
from tests.periods.helpers import state
from tests.rules import refused

pytestmark = pytest.mark.django_db


def members(world):
    return [world.entity.pk, world.other.pk]


def test_group_lock_refused_until_every_member_is_locked(world):
    period = world.period("2026-01")
    lock_through(actor=None, entity_period_id=world.entity_period("2026-01").pk)
    before = state()
    with pytest.raises(SheshiError) as exc:
        group_period_lock(None, members(world), period.pk, group_key="ACME-GROUP")
    assert exc.value.code == "group_members_not_locked"
    assert exc.value.detail == "1 member(s) not locked for 2026-01: ACME-US (open)"
    assert state() == before


def test_group_lock_records_who_and_members_once_all_are_locked(world):
    controller = user_with_role(world.entity, "controller")
    from sheshi.access.services.grants import role_grant

    role_grant(actor=None, user=controller, entity=world.other, role="controller")
    entity_periods_move(actor=None, entity_period_ids=[world.entity_period("2026-01", e).pk
                                                       for e in (world.entity, world.other)], to="locked")
    lock = group_period_lock(controller, members(world), world.period("2026-01").pk, group_key="ACME-GROUP")
    assert (lock.group_key, lock.entity_ids, lock.locked_by_id, lock.organisation_id) == \
        ("ACME-GROUP", sorted(members(world)), controller.pk, world.org.pk)
    with pytest.raises(SheshiError) as exc:
        group_period_lock(controller, members(world), world.period("2026-01").pk, group_key="ACME-GROUP")
    assert exc.value.code == "group_already_locked"


def test_default_group_key_is_the_member_list(world):
    entity_periods_move(actor=None, entity_period_ids=[world.entity_period("2026-01", e).pk
                                                       for e in (world.entity, world.other)], to="locked")
    lock = group_period_lock(None, list(reversed(members(world))), world.period("2026-01").pk)
    assert lock.group_key == f"entities:{world.entity.pk},{world.other.pk}"


def test_member_without_close_permission_on_every_entity_cannot_lock_the_group(world):
    entity_periods_move(actor=None, entity_period_ids=[world.entity_period("2026-01", e).pk
                                                       for e in (world.entity, world.other)], to="locked")
    half = user_with_role(world.entity, "controller")
    before = state()
    with pytest.raises(SheshiError) as exc:
        group_period_lock(half, members(world), world.period("2026-01").pk, group_key="G")
    assert exc.value.code == "permission_denied" and "ACME-US" in exc.value.detail
    assert state() == before


def test_raw_sql_group_lock_with_an_unlocked_member_is_refused(world):
    lock_through(actor=None, entity_period_id=world.entity_period("2026-01").pk)
    before = state()
    refused("periods_group_members_not_locked", """
        INSERT INTO periods_groupperiodlock (organisation_id, group_key, period_id, entity_ids, locked_at)
        VALUES (%s, 'G', %s, %s, now())""", [world.org.pk, world.period("2026-01").pk, members(world)])
    assert state() == before


def test_member_cannot_be_reopened_while_the_group_is_locked(world):
    eps = [world.entity_period("2026-01", e) for e in (world.entity, world.other)]
    entity_periods_move(actor=None, entity_period_ids=[ep.pk for ep in eps], to="locked")
    group_period_lock(None, members(world), world.period("2026-01").pk, group_key="ACME-GROUP")
    before = state()
    refused("periods_group_locked", "UPDATE periods_entityperiod SET state = 'open', reason = 'sneaky' WHERE id = %s",
            [eps[0].pk])
    with pytest.raises(DatabaseError):
        from django.db import transaction

        with transaction.atomic():
            entity_period_reopen(actor=None, entity_period_id=eps[0].pk, reason="late invoice")
    with pytest.raises(SheshiError) as exc:
        entity_periods_move(actor=None, entity_period_ids=[eps[1].pk], to="open", reason="late invoice")
    assert [e.code for e in exc.value.errors] == ["group_period_locked"]
    assert state() == before

    with pytest.raises(SheshiError) as exc:
        group_period_unlock(actor=None, group_key="ACME-GROUP", period_id=world.period("2026-01").pk, reason=" ")
    assert exc.value.code == "reason_required"
    group_period_unlock(actor=None, group_key="ACME-GROUP", period_id=world.period("2026-01").pk,
                        reason="restatement")
    assert GroupPeriodLock.objects.count() == 0
    assert GroupPeriodLock.history.filter(history_type="-").get().history_change_reason == "restatement"
    entity_period_reopen(actor=None, entity_period_id=eps[0].pk, reason="late invoice")
