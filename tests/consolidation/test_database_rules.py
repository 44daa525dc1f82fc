"""Consolidation rules attacked with raw SQL as the application's role: PostgreSQL refuses each
with its named rule and nothing changes; row-level security hides other organisations' rows."""
from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import call_command
from django.db import DatabaseError, transaction

from consolidation.models import ConsolidationGroup, ConsolidationRun, FxRate, GroupMember
from consolidation.services.runs import fx_rate_create
from periods.models import EntityPeriod, GroupPeriodLock, Period
from sheshi.db.context import db_context
from sheshi.errors import from_db_error
from tests.consolidation.helpers import CASES_DIR
from tests.rules import raw, refused

pytestmark = pytest.mark.django_db


def lock_months_through(period, entity_ids) -> None:
    """Lock the entities' periods up to ``period``, oldest first (periods lock in calendar order)."""
    for p in Period.objects.filter(organisation_id=period.organisation_id, start_date__lte=period.start_date,
                                   number__lte=period.number).order_by("start_date", "number"):
        EntityPeriod.objects.filter(period=p, entity_id__in=entity_ids).update(state="locked")


def rates():
    return list(FxRate.objects.order_by("pk").values_list("pk", "rate_type", "rate_date", "rate"))


@pytest.fixture
def group():
    call_command("load_group_pack", str(CASES_DIR / "foreign_subsidiary_cta.json"), "--org", "FX", stdout=io.StringIO())
    return ConsolidationGroup.objects.select_related("organisation").get(organisation__code="FX")


@pytest.fixture
def locked_december(group):
    period = Period.objects.get(organisation=group.organisation, code="2024-12")
    members = list(group.members.values_list("entity_id", flat=True))
    lock_months_through(period, members)
    GroupPeriodLock.objects.create(organisation=group.organisation, group_key=group.code, period=period,
                                   entity_ids=members)
    return period


def test_rate_of_a_locked_period_cannot_be_updated(group, locked_december):
    before = rates()
    message = refused("consolidation_fx_rate_frozen",
                      "UPDATE consolidation_fxrate SET rate = rate + 1 WHERE rate_type = 'closing'")
    assert "locked period" in message
    assert rates() == before


def test_rate_of_a_locked_period_cannot_be_deleted(group, locked_december):
    before = rates()
    refused("consolidation_fx_rate_frozen", "DELETE FROM consolidation_fxrate WHERE rate_type = 'average'")
    assert rates() == before


def test_rate_cannot_be_added_into_a_locked_period_and_maps_to_a_domain_error(group, locked_december):
    before = rates()
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        fx_rate_create(actor=None, organisation=group.organisation, from_currency="GBP", to_currency="EUR",
                       rate_type="closing", rate_date=date(2024, 12, 31), rate="1.17")
    assert from_db_error(exc.value).code == "fx_rate_frozen"
    assert rates() == before


def test_rates_outside_the_locked_period_stay_editable(group, locked_december):
    raw("UPDATE consolidation_fxrate SET rate = 0.91 WHERE rate_type = 'historical'")  # dated 2023-12-31
    assert str(FxRate.objects.get(rate_type="historical").rate) == "0.910000000000"


def test_overlapping_holdings_are_refused(group):
    before = list(GroupMember.objects.values_list("pk", "valid"))
    sub = GroupMember.objects.get(group=group, parent__isnull=False)
    refused("group_member_no_overlap", """
        INSERT INTO consolidation_groupmember (organisation_id, group_id, entity_id, parent_id, ownership_pct,
                                               acquired_on, method, valid, created_at)
        SELECT organisation_id, group_id, entity_id, parent_id, 90, acquired_on, method,
               daterange('2024-06-30', NULL), now() FROM consolidation_groupmember WHERE id = %s""", [sub.pk])
    assert list(GroupMember.objects.values_list("pk", "valid")) == before


@pytest.mark.parametrize("pct", ["0", "100.0001", "-1"])
def test_ownership_outside_0_100_is_refused(group, pct):
    sub = GroupMember.objects.get(group=group, parent__isnull=False)
    refused("group_member_ownership_valid", "UPDATE consolidation_groupmember SET ownership_pct = %s WHERE id = %s",
            [pct, sub.pk])
    assert str(GroupMember.objects.get(pk=sub.pk).ownership_pct) == "80.0000"


def test_run_cannot_claim_success_without_results(group):
    period = Period.objects.get(organisation=group.organisation, code="2024-12")
    run = ConsolidationRun.objects.create(organisation=group.organisation, group=group, period=period)
    refused("consolidation_run_success_has_results",
            "UPDATE consolidation_consolidationrun SET status = 'succeeded' WHERE id = %s", [run.pk])
    assert ConsolidationRun.objects.get(pk=run.pk).status == "queued"


def test_a_finished_run_is_a_record_its_results_never_change(group):
    """A succeeded run's results (and anything else of it) cannot be rewritten, so its history
    needs no copy of them: the run's history rows carry its states without the results."""
    call_command("consolidate", "--org", "FX", "--period", "2024-12", stdout=io.StringIO())
    run = ConsolidationRun.objects.get(status="succeeded")
    before = (run.results, run.fingerprint, run.status)
    refused("consolidation_run_finished",
            "UPDATE consolidation_consolidationrun SET results = '{}'::jsonb WHERE id = %s", [run.pk])
    refused("consolidation_run_finished",
            "UPDATE consolidation_consolidationrun SET status = 'failed', progress_note = 'x' WHERE id = %s", [run.pk])
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        run.progress_note = "edited"
        run.save(update_fields=["progress_note"])
    assert from_db_error(exc.value).code == "consolidation_run_finished"
    run = ConsolidationRun.objects.get(pk=run.pk)
    assert (run.results, run.fingerprint, run.status) == before
    states = list(run.history.order_by("history_id").values_list("status", flat=True))
    assert states[0] == "queued" and states[-1] == "succeeded"
    assert not hasattr(run.history.model, "results") and "results" not in {
        f.name for f in run.history.model._meta.fields}


def test_results_are_written_only_with_success(group):
    period = Period.objects.get(organisation=group.organisation, code="2024-12")
    run = ConsolidationRun.objects.create(organisation=group.organisation, group=group, period=period)
    refused("consolidation_run_finished",
            "UPDATE consolidation_consolidationrun SET results = '{}'::jsonb WHERE id = %s", [run.pk])
    assert ConsolidationRun.objects.get(pk=run.pk).results is None


def test_row_level_security_hides_other_organisations_consolidation_rows(group):
    call_command("load_group_pack", str(CASES_DIR / "wholly_owned.json"), "--org", "OTHER", stdout=io.StringIO())
    other = ConsolidationGroup.objects.get(organisation__code="OTHER")
    with db_context(org_ids=[other.organisation_id]):
        for table in ("consolidation_consolidationgroup", "consolidation_groupmember", "consolidation_fxrate",
                      "consolidation_acquisitionadjustment", "consolidation_adjustmentline"):
            orgs = {r[0] for r in raw(f"SELECT DISTINCT organisation_id FROM {table}")}
            assert orgs <= {other.organisation_id}, table
        assert raw("SELECT count(*) FROM consolidation_fxrate") == [(0,)]  # FX has the rates, OTHER none
    with db_context(org_ids=[other.organisation_id]), pytest.raises(DatabaseError, match="row-level security"), \
            transaction.atomic():
        FxRate.objects.create(organisation=group.organisation, from_currency="GBP", to_currency="EUR",
                              rate_type="closing", rate_date=date(2024, 12, 31), rate="1.17")


# Consolidation inputs frozen by their entities' locks (issue #14, consolidation/sql/0005_freeze.sql):
# an entity lock alone, no group lock.

@pytest.fixture
def sub_locked_december(group):
    period = Period.objects.get(organisation=group.organisation, code="2024-12")
    sub = group.members.get(entity__code="S").entity_id
    lock_months_through(period, [sub])
    return sub


def holdings():
    return list(GroupMember.objects.order_by("pk").values_list("pk", "entity_id", "parent_id", "ownership_pct",
                                                               "acquired_on"))


def test_a_holding_cannot_change_or_go_once_its_entity_has_a_locked_period(group, sub_locked_december):
    before = holdings()
    refused("consolidation_input_frozen",
            "UPDATE consolidation_groupmember SET ownership_pct = 100 WHERE entity_id = %s", [sub_locked_december])
    refused("consolidation_input_frozen",
            "DELETE FROM consolidation_groupmember WHERE entity_id = %s", [sub_locked_december])
    assert holdings() == before


def test_a_holding_of_an_entity_with_only_open_periods_stays_editable(group):
    sub = group.members.get(entity__code="S").entity_id
    raw("UPDATE consolidation_groupmember SET ownership_pct = 90 WHERE entity_id = %s", [sub])
    assert GroupMember.objects.get(entity_id=sub).ownership_pct == 90


def test_acquisition_facts_of_a_locked_entity_are_frozen(group, sub_locked_december):
    from consolidation.models import AdjustmentLine

    before = list(AdjustmentLine.objects.order_by("pk").values_list("pk", "amount"))
    refused("consolidation_input_frozen",
            "UPDATE consolidation_adjustmentline SET amount = amount - 1 WHERE adjustment_id IN "
            "(SELECT id FROM consolidation_acquisitionadjustment WHERE entity_id = %s)", [sub_locked_december])
    refused("consolidation_input_frozen",
            "DELETE FROM consolidation_adjustmentline WHERE adjustment_id IN "
            "(SELECT id FROM consolidation_acquisitionadjustment WHERE entity_id = %s)", [sub_locked_december])
    assert list(AdjustmentLine.objects.order_by("pk").values_list("pk", "amount")) == before


def test_a_rate_translating_a_locked_entity_is_frozen_without_any_group_lock(group, sub_locked_december):
    assert not GroupPeriodLock.objects.exists()
    before = rates()
    message = refused("consolidation_fx_rate_frozen",
                      "UPDATE consolidation_fxrate SET rate = rate + 1 WHERE from_currency = 'USD' "
                      "AND rate_date BETWEEN '2024-12-01' AND '2024-12-31'")
    assert "locked period of an entity" in message
    assert rates() == before


def test_consolidation_inputs_are_in_the_audit_trail(group):
    sub = group.members.get(entity__code="S").entity_id
    mark = raw("SELECT coalesce(max(id), 0) FROM audit_event")[0][0]
    raw("UPDATE consolidation_groupmember SET ownership_pct = 75 WHERE entity_id = %s", [sub])
    raw("UPDATE consolidation_fxrate SET source = 'corrected' WHERE from_currency = 'USD'")
    got = raw("SELECT object_type, action FROM audit_event WHERE id > %s ORDER BY id", [mark])
    assert ("consolidation.groupmember", "update") in got
    assert ("consolidation.fxrate", "update") in got
