"""FX rates from CSV: every problem reported at once, nothing written on any problem."""
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from consolidation.models import FxRate
from consolidation.services.rates_import import fx_rates_import
from sheshi.errors import ValidationFailed
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

GOOD = b"from,to,type,rate,date\nUSD,EUR,closing,0.923456789012,2026-03-31\nGBP,EUR,average,1.17,2026-03-31\n"


def test_a_good_file_loads_every_rate_with_history():
    org = OrganisationFactory()
    assert fx_rates_import(actor=None, organisation=org, stream=io.BytesIO(GOOD)).created == 2
    usd = FxRate.objects.get(organisation=org, from_currency="USD")
    assert usd.rate == Decimal("0.923456789012") and usd.rate_type == "closing"
    assert FxRate.history.filter(organisation_id=org.pk).count() == 2


def test_every_bad_row_is_reported_and_nothing_is_written():
    org = OrganisationFactory()
    bad = (b"from,to,type,rate,date\nUSD,EUR,closing,0.9,2026-03-31\nXXX,EUR,closing,1,2026-03-31\n"
           b"USD,USD,average,-1,2026-13-01\nUSD,EUR,spot,1e3,2026-03-31\n")
    with pytest.raises(ValidationFailed) as exc:
        fx_rates_import(actor=None, organisation=org, stream=io.BytesIO(bad))
    found = [(e.row, e.field, e.code) for e in exc.value.errors]
    assert found == [(3, "from", "invalid_currency"), (4, "to", "same_currency"), (4, "rate", "invalid_rate"),
                     (4, "date", "invalid_date"), (5, "type", "invalid_type"), (5, "rate", "invalid_rate")]
    assert FxRate.objects.filter(organisation=org).count() == 0


def test_duplicates_in_the_file_or_the_database_are_refused():
    org = OrganisationFactory()
    twice = GOOD + b"USD,EUR,closing,0.95,2026-03-31\n"
    with pytest.raises(ValidationFailed) as exc:
        fx_rates_import(actor=None, organisation=org, stream=io.BytesIO(twice))
    assert [(e.row, e.code) for e in exc.value.errors] == [(4, "duplicate_rate")]
    fx_rates_import(actor=None, organisation=org, stream=io.BytesIO(GOOD))
    again = GOOD + b"USD,EUR,average,0.91,2026-03-31\n"
    with pytest.raises(ValidationFailed) as exc:  # every rate the organisation holds already, by row
        fx_rates_import(actor=None, organisation=org, stream=io.BytesIO(again))
    assert [(e.row, e.code) for e in exc.value.errors] == [(2, "rate_exists"), (3, "rate_exists")]
    assert FxRate.objects.filter(organisation=org).count() == 2


def test_command_loads_and_reports(tmp_path):
    org = OrganisationFactory(code="FXCMD")
    f = tmp_path / "rates.csv"
    f.write_bytes(GOOD)
    call_command("load_fx_rates", str(f), "--org", "FXCMD")
    assert FxRate.objects.filter(organisation=org).count() == 2
    f.write_bytes(b"from,to,type,rate\nUSD,EUR,closing,1\n")
    with pytest.raises(CommandError, match=r"missing_column|lacks required columns"):
        call_command("load_fx_rates", str(f), "--org", "FXCMD")


def test_entering_a_rate_needs_the_close_permission():
    from datetime import date

    from consolidation.services.runs import fx_rate_create
    from sheshi.errors import PermissionDenied
    from tests.factories import EntityFactory, user_with_role

    entity = EntityFactory()
    viewer, controller = user_with_role(entity, "viewer"), user_with_role(entity, "controller")
    args = {"organisation": entity.organisation, "from_currency": "USD", "to_currency": "EUR",
            "rate_type": "closing", "rate_date": date(2026, 3, 31), "rate": Decimal("0.9")}
    with pytest.raises(PermissionDenied):
        fx_rate_create(actor=viewer, **args)
    assert FxRate.objects.filter(organisation=entity.organisation).count() == 0
    assert fx_rate_create(actor=controller, **args).rate == Decimal("0.9")


def xlsx(rows) -> io.BytesIO:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_an_xlsx_file_loads_with_typed_numbers_and_dates():
    from datetime import date

    org = OrganisationFactory()
    stream = xlsx([["from", "to", "type", "rate", "date"], ["USD", "EUR", "closing", 0.923456, date(2026, 3, 31)],
                   ["GBP", "EUR", "average", "1.17", "2026-03-31"]])
    assert fx_rates_import(actor=None, organisation=org, stream=stream, filename="rates.xlsx").created == 2
    assert list(FxRate.objects.filter(organisation=org).order_by("from_currency").values_list(
        "from_currency", "rate", "rate_date")) == [("GBP", Decimal("1.17"), date(2026, 3, 31)),
                                                   ("USD", Decimal("0.923456"), date(2026, 3, 31))]


def test_every_bad_xlsx_row_is_reported_and_nothing_is_written():
    org = OrganisationFactory()
    stream = xlsx([["from", "to", "type", "rate", "date"], ["USD", "EUR", "closing", -1, "2026-03-31"],
                   [None, None, None, None, None], ["usd", "EUR", "closing", 1, "31/03/2026"]])
    with pytest.raises(ValidationFailed) as exc:
        fx_rates_import(actor=None, organisation=org, stream=stream, filename="rates.xlsx")
    assert [(e.row, e.field, e.code) for e in exc.value.errors] == [
        (2, "rate", "invalid_rate"), (4, "from", "invalid_currency"), (4, "date", "invalid_date")]
    assert FxRate.objects.filter(organisation=org).count() == 0


def test_a_file_that_is_not_a_workbook_is_a_clear_error():
    org = OrganisationFactory()
    with pytest.raises(ValidationFailed) as exc:
        fx_rates_import(actor=None, organisation=org, stream=io.BytesIO(b"not a zip"), filename="rates.xlsx")
    assert [e.code for e in exc.value.errors] == ["unreadable_file"]
