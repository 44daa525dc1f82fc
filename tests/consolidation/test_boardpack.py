"""The XLSX board pack: numbers are numeric cells with formats, the figures are the run's, one sign
convention (stated on the cover) on every sheet, and the members sheet adds up with live SUM
formulas whose cached values are the consolidated figures."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from consolidation.models import ConsolidationGroup, ConsolidationRun, RunStatus
from consolidation.selectors.boardpack import SIGN_CONVENTION, board_pack_write, natural_sign
from consolidation.services.runs import consolidation_run_request
from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, EntrySource
from ledger.services.bulk import journal_entries_post_bulk
from periods.models import Period
from periods.services.transitions import fiscal_year_generate
from sheshi.tenancy.models import Entity
from tests.consolidation.helpers import CASES_DIR

pytestmark = pytest.mark.django_db
MONEY = "#,##0.00;-#,##0.00"


@pytest.fixture
def pack(tmp_path):
    call_command("load_group_pack", str(CASES_DIR / "foreign_subsidiary_cta.json"), "--org", "CASE",
                 stdout=io.StringIO())
    path = tmp_path / "pack.xlsx"
    call_command("consolidate", "--org", "CASE", "--period", "2024-12", "--xlsx", str(path), stdout=io.StringIO())
    return path


def rows_by_label(ws, label_col=1, value_col=2):
    return {row[label_col]: row[value_col] for row in ws.iter_rows(min_row=2, values_only=True) if row[label_col]}


def test_board_pack_of_foreign_case_has_every_sheet_with_numeric_cells(pack):
    wb = load_workbook(pack)
    assert wb.sheetnames == ["Cover", "BS", "IS", "Members", "IC differences", "CTA", "NCI"]
    run = ConsolidationRun.objects.get()
    cover = {row[0]: row[1] for row in wb["Cover"].iter_rows(min_row=2, values_only=True) if row and row[0]}
    assert cover["fingerprint"] == run.fingerprint and cover["period"] == "2024-12" and cover["run"] == run.pk
    assert cover["sign convention"] == SIGN_CONVENTION

    bs = rows_by_label(wb["BS"])
    assert bs["Total assets"] == 20785 and bs["Total equity and liabilities"] == 20785
    assert bs["Cumulative translation adjustment"] == 389 and bs["Non-controlling interests"] == 1710
    assert bs["Profit for the period attributable to owners of the parent"] == 1236
    assert bs["Equity attributable to owners of the parent"] == 16125 and bs["Total equity"] == 17835
    is_ = rows_by_label(wb["IS"])
    assert (is_["Profit for the period"], is_["attributable to owners of the parent"],
            is_["attributable to non-controlling interests"]) == (1420, 1236, 184)

    members = wb["Members"]
    header = [c.value for c in members[1]]
    assert header[:5] == ["Account", "Name", "P (ledger at closing)", "S (ledger at closing)", "Translation"]
    assert header[-1] == "Consolidated"
    cash = next(r for r in members.iter_rows(min_row=2) if r[0].value == "1000")
    assert [c.value for c in cash[2:4]] == [1430, 1900]
    assert all(c.number_format == MONEY for c in cash[2:])

    cta = list(wb["CTA"].iter_rows(min_row=2, values_only=True))
    s_row = next(r for r in cta if r[0] == "S")
    assert s_row[5:12] == (8000, 1000, 400, 30, 430, 86, 45)  # credits positive, like every equity figure
    nci = {r[0]: r for r in wb["NCI"].iter_rows(min_row=2, values_only=True)}
    assert nci["S"][2:] == (1440, 0, 184, 86, 0, 1710)


def test_balance_sheet_shows_no_credit_as_a_negative_figure(pack):
    """The named defect: "Profit attributable to NCI" showed -184 among positive credits. NCI's
    share of the profit is inside NCI (1,710); the BS shows the owners' share instead."""
    ws = load_workbook(pack)["BS"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    names = [r[1] for r in rows]
    assert "Profit attributable to NCI" not in names
    equity_and_liabilities = rows[[r[0] for r in rows].index("Equity"):]
    amounts = [r[2] for r in equity_and_liabilities if isinstance(r[2], int | float)]
    assert amounts and all(a >= 0 for a in amounts), equity_and_liabilities
    assert -184 not in amounts


def test_members_sheet_adds_up_with_live_sum_formulas_whose_cached_values_are_the_consolidated_figures(pack):
    run = ConsolidationRun.objects.get()
    accounts = {a["code"]: a for a in Account.objects.filter(organisation_id=run.organisation_id)
                .values("code", "type", "role")}
    formulas = load_workbook(pack)["Members"]
    cached = load_workbook(pack, data_only=True)["Members"]
    width = formulas.max_column
    account_rows = [r for r in range(2, formulas.max_row + 1) if formulas.cell(r, 1).value in accounts]
    # every consolidated account, and those the journals take to nil (the investment in S)
    assert set(run.results["consolidated_tb"]) < {formulas.cell(r, 1).value for r in account_rows}
    for r in account_rows:
        code = formulas.cell(r, 1).value
        total = formulas.cell(r, width)
        assert isinstance(total.value, str) and total.value.startswith("=SUM(")
        assert total.value == f"=SUM(C{r}:{formulas.cell(1, width - 1).column_letter}{r})"
        expected = natural_sign(accounts[code]) * Decimal(run.results["consolidated_tb"].get(code, "0"))
        assert Decimal(str(cached.cell(r, width).value)).quantize(Decimal("0.01")) == expected
        parts = sum(Decimal(str(cached.cell(r, c).value)) for c in range(3, width))
        assert parts.quantize(Decimal("0.01")) == expected
    totals = {cached.cell(r, 2).value: Decimal(str(cached.cell(r, width).value)).quantize(Decimal("0.01"))
              for r in range(2, cached.max_row + 1) if str(cached.cell(r, 2).value or "").startswith("Total ")}
    assert totals["Total assets"] == Decimal(run.results["totals"]["assets"])
    assert totals["Total liabilities"] == Decimal(run.results["totals"]["liabilities"])
    section_total = next(r for r in range(2, formulas.max_row + 1) if formulas.cell(r, 2).value == "Total assets")
    assert all(formulas.cell(section_total, c).value.startswith("=SUM(") for c in range(3, width + 1))
    # every column balances: assets - liabilities - equity - income + expenses + NCI's profit = 0
    signs = {"Total assets": 1, "Total liabilities": -1, "Total equity": -1, "Total income": -1,
             "Total expenses": 1, "Total profit attributable to non-controlling interests": 1}
    for c in range(3, width + 1):
        column = {cached.cell(r, 2).value: Decimal(str(cached.cell(r, c).value))
                  for r in range(2, cached.max_row + 1) if cached.cell(r, 2).value in signs}
        assert sum(signs[k] * v for k, v in column.items()).quantize(Decimal("0.01")) == 0


def test_board_pack_compares_with_the_same_period_last_year_when_that_run_exists(tmp_path,
                                                                                 django_capture_on_commit_callbacks):
    """WHOLE (P owns S since 2023-01-01) is consolidated for 2023-12 from two acquisition-day entries,
    then for 2024-12: its pack has one comparative, December 2023 (no run of 2024-11 exists),
    beside the current figures on BS and IS, each in its line's natural sign."""
    call_command("load_group_pack", str(CASES_DIR / "wholly_owned.json"), "--org", "WHOLE", stdout=io.StringIO())
    group = ConsolidationGroup.objects.select_related("organisation").get(organisation__code="WHOLE")
    org = group.organisation
    fiscal_year_generate(organisation=org, year=2023)
    last_year = Period.objects.get(organisation=org, code="2023-12")
    acc = dict(Account.objects.filter(organisation=org).values_list("code", "pk"))
    p, s = (Entity.objects.get(organisation=org, code=c) for c in ("P", "S"))
    for entity, lines in ((p, [("1500", "6000", s), ("3000", "-6000", None)]),
                          (s, [("1000", "5000", None), ("3000", "-4000", None), ("3100", "-1000", None)])):
        journal_entries_post_bulk(actor=None, entity=entity, source=EntrySource.IMPORT, entries=[EntryInput(
            entry_date=last_year.end_date, period_id=last_year.pk, description="at acquisition", lines=[
                LineInput(account_id=acc[code], amount=Decimal(amount), counterparty_id=cp.pk if cp else None)
                for code, amount, cp in lines])])
    with django_capture_on_commit_callbacks(execute=True):
        before = consolidation_run_request(actor=None, group=group, period=last_year)
        current = consolidation_run_request(actor=None, group=group,
                                            period=Period.objects.get(organisation=org, code="2024-12"))
    before.refresh_from_db()
    current.refresh_from_db()
    assert (before.status, current.status) == (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED), (before.error, current.error)
    # December 2023: S's cash and P's capital; the investment is eliminated against S's equity at acquisition.
    assert {k: v for k, v in before.results["consolidated_tb"].items() if Decimal(v)} == {
        "1000": "5000.00", "1600": "1000.00", "3000": "-6000.00"}

    path = tmp_path / "pack.xlsx"
    board_pack_write(current, path)
    book = load_workbook(path)
    cover = {r[0]: r[1] for r in book["Cover"].iter_rows(values_only=True) if r and r[0]}
    assert cover["comparatives"] == "Same period last year (2023-12)"
    assert cover["comparative: Same period last year (2023-12)"] == f"run {before.pk}, fingerprint {before.fingerprint}"
    bs, is_ = book["BS"], book["IS"]
    header = ["Account", "Name", "Current (EUR)", "Same period last year (2023-12) (EUR)"]
    assert [c.value for c in bs[1]] == header and [c.value for c in is_[1]] == header
    last = {r[0] or r[1]: Decimal(str(r[3])) for r in bs.iter_rows(min_row=2, values_only=True) if r[3] is not None}
    assert last["1000"] == Decimal("5000") and last["1600"] == Decimal("1000")  # assets: debit positive
    assert last["3000"] == Decimal("6000")  # equity: credit positive
    assert last["Total assets"] == last["Total equity and liabilities"] == Decimal("6000")
    now = {r[0] or r[1]: Decimal(str(r[2])) for r in bs.iter_rows(min_row=2, values_only=True) if r[2] is not None}
    assert now["Total assets"] == Decimal(current.results["totals"]["assets"])
    income = {r[0] or r[1]: r[3] for r in is_.iter_rows(min_row=2, values_only=True) if r[0] or r[1]}
    assert Decimal(str(income["Profit for the period"])) == 0  # no income or expense in December 2023
    assert Decimal(str(income["4000"])) == 0 and Decimal(str(
        next(r[2] for r in is_.iter_rows(min_row=2, values_only=True) if r[0] == "4000"))) == Decimal("13000")
