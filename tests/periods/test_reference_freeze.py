"""A lock freezes the reference data its figures depend on: local account mappings effective in
a locked period cannot change (PostgreSQL trigger), and other apps get SQL functions to ask
whether an entity or any entity of an organisation is locked on a date."""
import pytest
from django.db import DatabaseError

from ledger.models import LocalAccountMapping
from periods.services.close import entity_periods_move
from tests.ledger.helpers import build_world
from tests.locking import lock_through
from tests.rules import raw, refused

pytestmark = pytest.mark.django_db


def mappings():
    return list(LocalAccountMapping.objects.order_by("pk").values_list("pk", "entity_id", "local_code", "local_name",
                                                                       "account_id", "valid"))


@pytest.fixture
def mapped(world):
    from datetime import date

    from psycopg.types.range import Range

    m = LocalAccountMapping.objects.create(organisation=world.org, entity=world.entity, local_code="8400",
                                           local_name="Erlöse", account_id=world.acc("4100"),
                                           valid=Range(date(2020, 1, 1), None, "[)"))
    other = LocalAccountMapping.objects.create(organisation=world.org, entity=world.other, local_code="8400",
                                               account_id=world.acc("4100"), valid=Range(date(2020, 1, 1), None, "[)"))
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    return {"m": m, "other": other}


def test_changing_the_account_of_a_mapping_effective_in_a_locked_period_is_refused(world, mapped):
    before = mappings()
    msg = refused("periods_mapping_frozen", "UPDATE ledger_localaccountmapping SET account_id = %s WHERE id = %s",
                  [world.acc("5100"), mapped["m"].pk])
    assert msg == (f"local account mapping 8400 of entity {world.entity.pk} is effective in locked period 2026-01: "
                   "date the change into an open period")  # January to March locked, oldest named
    assert mappings() == before


def test_deleting_or_shortening_into_the_locked_period_is_refused(world, mapped):
    before = mappings()
    refused("periods_mapping_frozen", "DELETE FROM ledger_localaccountmapping WHERE id = %s", [mapped["m"].pk])
    refused("periods_mapping_frozen", "UPDATE ledger_localaccountmapping SET valid = '[2020-01-01,2026-03-15)' "
            "WHERE id = %s", [mapped["m"].pk])
    refused("periods_mapping_frozen", "UPDATE ledger_localaccountmapping SET local_code = '8401' WHERE id = %s",
            [mapped["m"].pk])
    assert mappings() == before


def test_inserting_a_mapping_effective_in_the_locked_period_is_refused(world, mapped):
    before = mappings()
    refused("periods_mapping_frozen", """
        INSERT INTO ledger_localaccountmapping (organisation_id, entity_id, local_code, local_name, account_id, valid)
        VALUES (%s, %s, '9999', '', %s, '[2026-03-10,2026-03-20)')""",
            [world.org.pk, world.entity.pk, world.acc("5100")])
    assert mappings() == before


def test_a_change_dated_into_an_open_period_is_allowed(world, mapped):
    # End the old mapping where the open period starts, and map anew from there.
    raw("UPDATE ledger_localaccountmapping SET valid = '[2020-01-01,2026-04-01)' WHERE id = %s", [mapped["m"].pk])
    raw("""INSERT INTO ledger_localaccountmapping
               (organisation_id, entity_id, local_code, local_name, account_id, valid)
           VALUES (%s, %s, '8400', 'Erlöse neu', %s, '[2026-04-01,)')""",
        [world.org.pk, world.entity.pk, world.acc("5100")])
    raw("UPDATE ledger_localaccountmapping SET local_name = 'Umsatzerlöse' WHERE id = %s", [mapped["m"].pk])
    rows = raw("SELECT valid::text, account_id, local_name FROM ledger_localaccountmapping WHERE entity_id = %s "
               "ORDER BY lower(valid)", [world.entity.pk])
    assert rows == [("[2020-01-01,2026-04-01)", world.acc("4100"), "Umsatzerlöse"),
                    ("[2026-04-01,)", world.acc("5100"), "Erlöse neu")]


def test_another_entitys_mapping_is_not_frozen(world, mapped):
    raw("UPDATE ledger_localaccountmapping SET account_id = %s WHERE id = %s",
        [world.acc("5100"), mapped["other"].pk])
    assert LocalAccountMapping.objects.get(pk=mapped["other"].pk).account_id == world.acc("5100")


def test_after_reopening_the_mapping_may_change_again(world, mapped):
    entity_periods_move(actor=None, entity_period_ids=[world.entity_period(c).pk for c in ("2026-01", "2026-02",
                                                                                         "2026-03")],
                        to="open", reason="remap")  # one step, newest first
    raw("UPDATE ledger_localaccountmapping SET account_id = %s WHERE id = %s", [world.acc("5100"), mapped["m"].pk])
    assert LocalAccountMapping.objects.get(pk=mapped["m"].pk).account_id == world.acc("5100")


def test_orm_change_is_refused_too(world, mapped):
    m = mapped["m"]
    m.account_id = world.acc("5100")
    with pytest.raises(DatabaseError):
        from django.db import transaction

        with transaction.atomic():
            m.save()
    assert LocalAccountMapping.objects.get(pk=m.pk).account_id == world.acc("4100")


def test_is_locked_functions_for_other_apps(world):
    other_org = build_world("OTHERCO")
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    lock_through(actor=None, entity_period_id=world.entity_period("2026-06", world.other).pk)

    def q(sql, *params):
        return raw(sql, list(params))[0][0]

    assert q("SELECT periods_is_locked(%s, '2026-03-15')", world.entity.pk) is True
    assert q("SELECT periods_is_locked(%s, '2026-03-31')", world.entity.pk) is True
    assert q("SELECT periods_is_locked(%s, '2026-04-01')", world.entity.pk) is False
    assert q("SELECT periods_is_locked(%s, '2026-06-30')", world.other.pk) is True
    assert q("SELECT periods_is_locked(%s, '2026-07-01')", world.other.pk) is False
    assert q("SELECT periods_is_locked(%s, '2026-12-31')", world.other.pk) is False
    assert q("SELECT periods_is_locked(%s, '2031-01-01')", world.entity.pk) is False  # no such period
    assert q("SELECT periods_any_entity_locked(%s, '2026-03-01')", world.org.pk) is True
    assert q("SELECT periods_any_entity_locked(%s, '2026-03-01')", other_org.org.pk) is False
    assert q("SELECT periods_locked_during(%s, '[2026-04-01,2026-12-31)')", world.entity.pk) is False
    assert q("SELECT periods_locked_during(%s, '[2026-01-01,)')", world.entity.pk) is True
    assert q("SELECT periods_any_entity_locked_during(%s, '[2026-07-01,2026-08-01)')", world.org.pk) is False
