"""Year-end close against hand-worked figures; reproducible; reopen reverses it.

Hand-worked (ACME-DE, functional EUR, FY2026):
  Sales 4100:          800.00 EUR (Feb) + USD 250.00 @ 0.80 = 200.00 EUR (Nov)  → credit 1,000.00
  Cost of sales 5100:  600.00 EUR (Jun)                                         → debit    600.00
  Cash / receivables are balance-sheet accounts and are not closed.
Closing entry in FY2026-13: Dr Sales 1,000.00 · Cr Cost of sales 600.00 · Cr Retained earnings 400.00."""
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, JournalEntry
from ledger.services.entries import journal_entry_create, journal_entry_create_and_post
from ledger.services.year_end import year_end_close, year_end_reopen
from periods.models import EntityPeriod, FiscalYear
from periods.services.close import entity_periods_move, entity_periods_resolve
from periods.services.transitions import fiscal_year_generate
from sheshi.errors import SheshiError
from tests.factories import user_with_role
from tests.periods.helpers import state

pytestmark = pytest.mark.django_db


def post(world, day, lines, entity=None):
    return journal_entry_create_and_post(actor=None, entity=entity or world.entity, entry=EntryInput(
        entry_date=day, description=f"activity {day}", lines=lines)).entry


@pytest.fixture
def year(world):
    re = Account.objects.get(organisation=world.org, code="3200")
    re.role = "retained_earnings"
    re.save(update_fields=["role"])
    fiscal_year_generate(organisation=world.org, year=2027)
    a = world.acc
    post(world, date(2026, 2, 10), [LineInput(a("1100"), Decimal("800")), LineInput(a("4100"), Decimal("-800"))])
    post(world, date(2026, 11, 5), [
        LineInput(a("1200"), Decimal("250"), currency="USD", rate=Decimal("0.8")),
        LineInput(a("4100"), Decimal("-250"), currency="USD", rate=Decimal("0.8"))])
    post(world, date(2026, 6, 30), [LineInput(a("5100"), Decimal("600")), LineInput(a("2100"), Decimal("-600"))])
    # Next year's revenue must not be closed into FY2026.
    post(world, date(2027, 1, 15), [LineInput(a("1100"), Decimal("55")), LineInput(a("4100"), Decimal("-55"))])
    soft_close_year(world, world.entity)
    return FiscalYear.objects.get(organisation=world.org, code="FY2026")


def soft_close_year(world, entity):
    ids = [ep.pk for ep in EntityPeriod.objects.filter(entity=entity, period__fiscal_year__code="FY2026",
                                                       period__number__lte=12)]
    entity_periods_move(actor=None, entity_period_ids=ids, to="soft_closed")


def entry_shape(entry: JournalEntry):
    return ((entry.period.code, entry.entry_date, entry.source, entry.status, entry.description),
            [(ln.line_no, Account.objects.get(pk=ln.account_id).code, ln.currency, ln.amount, ln.rate,
              ln.functional_amount) for ln in entry.lines.order_by("line_no")])


def year_net(world, code, fy="FY2026"):
    from django.db.models import F, Sum

    from ledger.models import Balance

    return Balance.objects.filter(entity_id=world.entity.pk, account_id=world.acc(code),
                                  period_id__in=world.org.periods.filter(fiscal_year__code=fy).values("id")) \
        .aggregate(n=Sum(F("functional_debit") - F("functional_credit")))["n"]


def test_closing_entry_matches_the_hand_worked_figures(world, year):
    entry = year_end_close(actor=None, entity=world.entity, fiscal_year=year)
    header, lines = entry_shape(entry)
    assert header == ("FY2026-13", date(2026, 12, 31), "closing", "posted",
                      "Year-end close FY2026: income and expense to retained earnings")
    assert lines == [
        (1, "4100", "EUR", Decimal("1000.0000"), Decimal("1.000000000000"), Decimal("1000.0000")),
        (2, "5100", "EUR", Decimal("-600.0000"), Decimal("1.000000000000"), Decimal("-600.0000")),
        (3, "3200", "EUR", Decimal("-400.0000"), Decimal("1.000000000000"), Decimal("-400.0000")),
    ]
    assert (year_net(world, "4100"), year_net(world, "5100"), year_net(world, "3200")) == \
        (Decimal("0.0000"), Decimal("0.0000"), Decimal("-400.0000"))
    assert year_net(world, "4100", "FY2027") == Decimal("-55.0000")  # the next year is untouched


def test_closing_twice_is_refused_and_changes_nothing(world, year):
    first = year_end_close(actor=None, entity=world.entity, fiscal_year=year)
    before = state()
    with pytest.raises(SheshiError) as exc:
        year_end_close(actor=None, entity=world.entity, fiscal_year=year)
    assert (exc.value.code, exc.value.status) == ("year_already_closed", 409)
    assert exc.value.detail == f"FY2026 is already closed for ACME-DE (entry {first.pk}); reopen the year first."
    assert state() == before


def test_reopen_reverses_and_closing_again_gives_the_identical_entry(world, year):
    first = year_end_close(actor=None, entity=world.entity, fiscal_year=year)
    reversal = year_end_reopen(actor=None, entity=world.entity, fiscal_year=year, reason="audit adjustment")
    assert reversal.reverses_id == first.pk and reversal.period.code == "FY2026-13"
    assert [ln.functional_amount for ln in reversal.lines.order_by("line_no")] == \
        [Decimal("-1000.0000"), Decimal("600.0000"), Decimal("400.0000")]
    assert (year_net(world, "4100"), year_net(world, "3200")) == (Decimal("-1000.0000"), Decimal("0.0000"))
    second = year_end_close(actor=None, entity=world.entity, fiscal_year=year)
    assert second.pk != first.pk
    assert entry_shape(second) == entry_shape(first)


def test_reopen_without_reason_or_when_not_closed_is_refused(world, year):
    before = state()
    with pytest.raises(SheshiError) as exc:
        year_end_reopen(actor=None, entity=world.entity, fiscal_year=year, reason="")
    assert exc.value.code == "reason_required"
    with pytest.raises(SheshiError) as exc:
        year_end_reopen(actor=None, entity=world.entity, fiscal_year=year, reason="oops")
    assert exc.value.code == "year_not_closed"
    assert state() == before


def test_year_end_refused_while_periods_are_open(world):
    re = Account.objects.get(organisation=world.org, code="3200")
    re.role = "retained_earnings"
    re.save(update_fields=["role"])
    fy = FiscalYear.objects.get(organisation=world.org, code="FY2026")
    before = state()
    with pytest.raises(SheshiError) as exc:
        year_end_close(actor=None, entity=world.entity, fiscal_year=fy)
    assert exc.value.code == "periods_still_open"
    assert [e.value for e in exc.value.errors] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert state() == before


def test_year_end_refused_with_unposted_drafts_and_lists_them(world, year):
    entity_periods_move(actor=None, entity_period_ids=[world.entity_period("2026-12").pk], to="open",
                        reason="late draft")
    draft = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("9", day=date(2026, 12, 1))).entry
    # Soft-closing over a draft needs force and a reason (issue #15 item 5).
    entity_periods_move(actor=None, entity_period_ids=[world.entity_period("2026-12").pk], to="soft_closed",
                        force=True, reason="draft left for the year-end check")
    before = state()
    with pytest.raises(SheshiError) as exc:
        year_end_close(actor=None, entity=world.entity, fiscal_year=year)
    assert exc.value.code == "unposted_entries"
    assert [(e.field, e.value) for e in exc.value.errors] == [("entries", draft.pk)]
    assert state() == before


def test_year_end_needs_a_retained_earnings_account(world):
    soft_close_year(world, world.entity)
    fy = FiscalYear.objects.get(organisation=world.org, code="FY2026")
    before = state()
    with pytest.raises(SheshiError) as exc:
        year_end_close(actor=None, entity=world.entity, fiscal_year=fy)
    assert exc.value.code == "retained_earnings_account"
    assert state() == before


def test_year_end_into_a_locked_closing_period_is_refused(world, year):
    year_periods = EntityPeriod.objects.filter(entity=world.entity, period__fiscal_year=year)
    entity_periods_move(actor=None, entity_period_ids=list(year_periods.values_list("pk", flat=True)),
                        to="locked")  # the months lock first, then period 13, in one step
    before = state()
    with pytest.raises(SheshiError) as exc:
        year_end_close(actor=None, entity=world.entity, fiscal_year=year)
    assert exc.value.code == "period_locked"
    assert state() == before


def test_year_without_adjustment_period_closes_into_its_last_month(world):
    re = Account.objects.get(organisation=world.org, code="3200")
    re.role = "retained_earnings"
    re.save(update_fields=["role"])
    fy = fiscal_year_generate(organisation=world.org, year=2028, adjustment_period=False)
    post(world, date(2028, 3, 1), [LineInput(world.acc("1100"), Decimal("10")),
                                   LineInput(world.acc("4100"), Decimal("-10"))])
    ids = [ep.pk for ep in EntityPeriod.objects.filter(entity=world.entity, period__fiscal_year=fy)]
    entity_periods_move(actor=None, entity_period_ids=ids, to="soft_closed")
    entry = year_end_close(actor=None, entity=world.entity, fiscal_year=fy)
    assert (entry.period.code, entry.entry_date) == ("2028-12", date(2028, 12, 31))
    assert [ln.functional_amount for ln in entry.lines.order_by("line_no")] == \
        [Decimal("10.0000"), Decimal("-10.0000")]


def test_a_preparer_cannot_close_the_year(world, year):
    preparer = user_with_role(world.entity, "preparer")
    before = state()
    with pytest.raises(SheshiError) as exc:
        year_end_close(actor=preparer, entity=world.entity, fiscal_year=year)
    assert exc.value.code == "permission_denied"
    assert state() == before


def test_a_controller_closes_the_year_as_themselves(world, year):
    controller = user_with_role(world.entity, "controller")
    entry = year_end_close(actor=controller, entity=world.entity, fiscal_year=year)
    assert (entry.created_by_id, entry.posted_by_id) == (controller.pk, controller.pk)


def test_command_all_entities_is_all_or_nothing(world, year):
    before = state()
    with pytest.raises(CommandError) as exc:
        call_command("year_end_close", "--org", "ACME", "--all", "--year", "2026", stdout=StringIO())
    assert "ACME-US: Close the year's periods first" in str(exc.value)
    assert state() == before  # ACME-DE could have closed, but nothing was posted
    out = StringIO()
    call_command("year_end_close", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-05", stdout=out)
    entry = JournalEntry.objects.get(entity=world.entity, source="closing")
    assert out.getvalue() == f"ACME-DE FY2026: closing entry {entry.pk}\n"
    out = StringIO()
    call_command("year_end_close", "--org", "ACME", "--entity", "ACME-DE", "--year", "2026", "--reopen",
                 "--reason", "restated", stdout=out)
    assert out.getvalue() == f"ACME-DE FY2026: reversed by entry {entry.reversed_by.pk}\n"


def test_resolving_periods_for_all_entities(world):
    eps = entity_periods_resolve(organisation=world.org, period_code="2026-03")
    assert [ep.entity.code for ep in eps] == ["ACME-DE", "ACME-US"]


def test_a_closed_year_takes_nothing_but_its_closing_entries(world, year):
    """Issue #15: no posting into a closed fiscal year except its closing entries (before, an
    adjustment into a soft-closed month of a closed year left income behind retained earnings)."""
    from django.db import DatabaseError

    year_end_close(actor=None, entity=world.entity, fiscal_year=year)
    a = world.acc
    before = state()
    with pytest.raises(DatabaseError) as exc:
        post(world, date(2026, 11, 20), [LineInput(a("1100"), Decimal("5")), LineInput(a("4100"), Decimal("-5"))])
    assert exc.value.__cause__.diag.constraint_name == "ledger_fiscal_year_closed"
    assert state() == before
    # The next year is open, and reopening the year (its closing entry reversed) lets adjustments in.
    post(world, date(2027, 2, 1), [LineInput(a("1100"), Decimal("5")), LineInput(a("4100"), Decimal("-5"))])
    year_end_reopen(actor=None, entity=world.entity, fiscal_year=year, reason="late credit note")
    post(world, date(2026, 11, 20), [LineInput(a("1100"), Decimal("5")), LineInput(a("4100"), Decimal("-5"))])
