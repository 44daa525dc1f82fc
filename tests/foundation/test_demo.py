"""The demo group loads through the services, is idempotent and its books balance."""
import pytest
from django.core.management import call_command

from ledger.models import Balance, JournalEntry
from ledger.reports import balances_verify, trial_balance
from periods.models import Period
from sheshi.tenancy.models import Entity, Organisation

pytestmark = pytest.mark.django_db


def test_demo_loads_once_with_four_entities_in_three_currencies(settings):
    settings.DEBUG = True
    call_command("load_demo")
    org = Organisation.objects.get(code="DEMO")
    entities = Entity.objects.filter(organisation=org)
    assert entities.count() == 4
    assert set(entities.values_list("functional_currency", flat=True)) == {"EUR", "GBP", "USD"}
    n = JournalEntry.objects.filter(organisation=org, status="posted").count()
    assert n > 400
    call_command("load_demo")
    assert JournalEntry.objects.filter(organisation=org).count() == n
    assert balances_verify(organisation_id=org.pk) == []
    dec = Period.objects.get(organisation=org, code="2026-12")
    for entity in entities:
        assert trial_balance(entity=entity, period=dec).reconciles
    assert Balance.objects.filter(organisation_id=org.pk).count() > 0
    from periods.models import EntityPeriod

    locked = set(EntityPeriod.objects.filter(organisation=org, state="locked").values_list("period__code", flat=True))
    assert locked == {"2026-01", "2026-02", "2026-03"}


def test_demo_refuses_to_run_with_debug_off(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo")
    assert not Organisation.objects.filter(code="DEMO").exists()
