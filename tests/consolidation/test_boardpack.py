"""The XLSX board pack: numbers are numeric cells with formats, and the figures are the run's."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from consolidation.models import ConsolidationRun
from tests.consolidation.helpers import CASES_DIR

pytestmark = pytest.mark.django_db


def test_board_pack_of_foreign_case_has_every_sheet_with_numeric_cells(tmp_path):
    call_command("load_group_pack", str(CASES_DIR / "foreign_subsidiary_cta.json"), "--org", "CASE",
                 stdout=io.StringIO())
    path = tmp_path / "pack.xlsx"
    call_command("consolidate", "--org", "CASE", "--period", "2024-12", "--xlsx", str(path), stdout=io.StringIO())
    wb = load_workbook(path)
    assert wb.sheetnames == ["Cover", "BS", "IS", "Members", "IC differences", "CTA", "NCI"]
    run = ConsolidationRun.objects.get()
    cover = {row[0]: row[1] for row in wb["Cover"].iter_rows(min_row=2, values_only=True) if row and row[0]}
    assert cover["fingerprint"] == run.fingerprint and cover["period"] == "2024-12" and cover["run"] == run.pk

    bs = {row[1]: row[2] for row in wb["BS"].iter_rows(min_row=2, values_only=True) if row[1]}
    assert bs["Total assets"] == 20785 and bs["Liabilities + equity + profit"] == 20785
    assert bs["Cumulative translation adjustment"] == 389 and bs["of which non-controlling interests"] == 1710
    is_ = {row[1]: row[2] for row in wb["IS"].iter_rows(min_row=2, values_only=True) if row[1]}
    assert (is_["Profit for the period"], is_["attributable to owners of the parent"],
            is_["attributable to non-controlling interests"]) == (1420, 1236, 184)

    members = wb["Members"]
    header = [c.value for c in members[1]]
    assert header[:4] == ["Account", "Name", "P", "S"] and header[-1] == "Consolidated"
    cash = next(r for r in members.iter_rows(min_row=2) if r[0].value == "1000")
    assert [c.value for c in cash[2:4]] == [1430, 1900]
    assert all(isinstance(c.value, int | float) and c.number_format == "#,##0.00;-#,##0.00" for c in cash[2:])
    # every row adds up: members + eliminations = consolidated
    for r in members.iter_rows(min_row=2, values_only=True):
        assert Decimal(str(sum(r[2:-1]))).quantize(Decimal("0.01")) == Decimal(str(r[-1])).quantize(Decimal("0.01"))

    cta = list(wb["CTA"].iter_rows(min_row=2, values_only=True))
    s_row = next(r for r in cta if r[0] == "S")
    assert s_row[7:12] == (-400, -30, -430, 86, 45)
    nci = {r[0]: r for r in wb["NCI"].iter_rows(min_row=2, values_only=True)}
    assert nci["S"][2:] == (1440, 0, 184, 86, 0, 1710)
