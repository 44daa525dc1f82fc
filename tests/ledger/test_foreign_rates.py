"""A foreign-currency line is never booked at a rate it was not given (issue 14.8): no rate, a zero
or a negative rate is a field error on the line, through the API, the service and the bulk path."""
from datetime import date
from decimal import Decimal

import pytest

from ledger.inputs import EntryInput, LineInput
from ledger.models import Balance, JournalEntry, JournalLine
from ledger.services.bulk import journal_entries_post_bulk
from sheshi.errors import ValidationFailed
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def usd_body(world, **rate):
    return {"entity": world.entity.code, "entry_date": "2026-03-10", "description": "USD invoice",
            "lines": [{"account": "1200", "amount": "10.00", "currency": "USD", **rate},
                      {"account": "4100", "amount": "-10.00"}]}


def nothing_written():
    return (JournalEntry.objects.count(), JournalLine.objects.count(), Balance.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize("rate", [{}, {"rate": "0"}, {"rate": "-1.1"}])
def test_a_usd_line_in_a_eur_entity_without_a_positive_rate_is_refused_on_the_line(client, world, rate):
    client.force_login(user_with_role(world.entity, "preparer"))
    resp = client.post("/api/v1/journal-entries/", usd_body(world, **rate), content_type="application/json")
    assert resp.status_code == 400, resp.json()
    assert resp["Content-Type"] == "application/problem+json"
    errors = resp.json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        ("lines[0].rate", "rate_required" if not rate else "invalid_rate")]
    assert nothing_written()


def test_a_usd_line_with_its_rate_is_booked_at_that_rate(client, world):
    client.force_login(user_with_role(world.entity, "preparer"))
    body = usd_body(world, rate="0.9")
    body["lines"][1]["amount"] = "-9.00"
    resp = client.post("/api/v1/journal-entries/", body, content_type="application/json")
    assert resp.status_code == 201, resp.json()
    assert [(ln["currency"], ln["rate"], ln["functional_amount"]) for ln in resp.json()["lines"]] == [
        ("USD", "0.900000000000", "9.0000"), ("EUR", "1.000000000000", "-9.0000")]


def test_the_service_refuses_a_foreign_line_without_rate_or_functional_amount(world):
    actor = user_with_role(world.entity, "preparer")
    from ledger.services.entries import journal_entry_create

    entry = EntryInput(entry_date=date(2026, 3, 10), description="x", lines=[
        LineInput(account_id=world.acc("1200"), amount=Decimal(10), currency="USD"),
        LineInput(account_id=world.acc("4100"), amount=Decimal(-10))])
    with pytest.raises(ValidationFailed) as exc:
        journal_entry_create(actor=actor, entity=world.entity, entry=entry)
    assert [(e.field, e.code) for e in exc.value.errors] == [("lines[0].rate", "rate_required")]
    assert nothing_written()


def test_the_bulk_path_refuses_a_foreign_line_without_rate_naming_entry_line_and_row(world):
    entry = EntryInput(entry_date=date(2026, 3, 10), description="x", lines=[
        LineInput(account_id=world.acc("1200"), amount=Decimal(10), currency="USD", source_row=7),
        LineInput(account_id=world.acc("4100"), amount=Decimal(-10), source_row=8)])
    with pytest.raises(ValidationFailed) as exc:
        journal_entries_post_bulk(actor=None, entity=world.entity, entries=[entry])
    assert [(e.field, e.code, e.row) for e in exc.value.errors] == [("entries[0].lines[0].rate", "rate_required", 7)]
    assert nothing_written()


def test_the_bulk_path_books_an_imported_foreign_line_at_the_rate_its_functional_amount_implies(world):
    entry = EntryInput(entry_date=date(2026, 3, 10), description="x", lines=[
        LineInput(account_id=world.acc("1200"), amount=Decimal(10), currency="USD", functional_amount=Decimal(9)),
        LineInput(account_id=world.acc("4100"), amount=Decimal(-9))])
    journal_entries_post_bulk(actor=None, entity=world.entity, entries=[entry])
    assert list(JournalLine.objects.order_by("line_no").values_list("currency", "rate", "functional_amount")) == [
        ("USD", Decimal("0.9"), Decimal("9")), ("EUR", Decimal(1), Decimal(-9))]


def test_over_the_api_a_foreign_line_with_a_functional_amount_still_needs_its_rate(client, world):
    client.force_login(user_with_role(world.entity, "preparer"))
    body = usd_body(world, functional_amount="9.00")
    body["lines"][1]["amount"] = "-9.00"
    resp = client.post("/api/v1/journal-entries/", body, content_type="application/json")
    assert resp.status_code == 400, resp.json()
    assert [(e["field"], e["code"]) for e in resp.json()["errors"]] == [("lines[0].rate", "rate_required")]
    assert nothing_written()
