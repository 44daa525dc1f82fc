"""CSV and XLSX files of the admin's report pages.

Each file starts with a header block (organisation, entity, period, the period's state, generated
at and by, and the report's totals), a blank row, then the table. Every table row says what it
is in its first column: ``posting`` (an account that takes postings), ``group`` (a heading of the
account tree: its figures are its children's, so it carries none here — a SUM over a column of the
table never counts an amount twice), ``opening`` or ``line`` (general ledger). Totals live in the
header block, not in the table, for the same reason.

Money: numbers in XLSX, with the currency's decimals and thousands separators as the number format
(the cell keeps the stored precision, so the SUM of a column equals the total); plain decimal
strings in CSV. Text is escaped against formula injection.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from sheshi.escaping import escape_row
from sheshi.exports import XLSX_TYPE
from sheshi.money import currency_decimals

GROUP, POSTING, OPENING, LINE = "group", "posting", "opening", "line"


def number_format(currency: str) -> str:
    places = currency_decimals(currency)
    digits = "#,##0" + ("." + "0" * places if places else "")
    return f"{digits};-{digits}"


@dataclass
class ReportFile:
    filename: str
    title: str
    currency: str
    header: list[tuple[str, object]]  # (label, value): who, what, when
    columns: list[str]
    rows: list[tuple[str, list]] = field(default_factory=list)  # (row kind, values)
    totals: list[tuple[str, Decimal]] = field(default_factory=list)

    def table_rows(self):
        """Rows as written: the kind first; a group row keeps its code and name, not its figures."""
        for kind, values in self.rows:
            if kind == GROUP:
                values = [None if isinstance(v, Decimal) else v for v in values]
            yield [kind, *values]


def _csv_value(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    return "" if value is None else value


def csv_file(report: ReportFile) -> HttpResponse:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([report.title])
    for label, value in [*report.header, *report.totals]:
        writer.writerow(escape_row([label, _csv_value(value)]))
    writer.writerow([])
    writer.writerow(["Row", *report.columns])
    for row in report.table_rows():
        writer.writerow(escape_row([_csv_value(v) for v in row]))
    resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{report.filename}.csv"'
    return resp


def xlsx_file(report: ReportFile) -> HttpResponse:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(report.title[:31])
    fmt, bold = number_format(report.currency), Font(bold=True)

    def cell(value, *, strong=False):
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, Decimal):
            c.number_format = fmt
        if strong:
            c.font = bold
        return c

    ws.append([cell(report.title, strong=True)])
    for label, value in [*report.header, *report.totals]:
        ws.append([cell(label, strong=True), cell(escape_row([value])[0])])
    ws.append([])
    ws.append([cell(c, strong=True) for c in ["Row", *report.columns]])
    for row in report.table_rows():
        ws.append([cell(v, strong=row[0] == GROUP) for v in escape_row(row)])
    out = io.BytesIO()
    wb.save(out)
    resp = HttpResponse(out.getvalue(), content_type=XLSX_TYPE)
    resp["Content-Disposition"] = f'attachment; filename="{report.filename}.xlsx"'
    return resp


def report_response(kind: str, report: ReportFile) -> HttpResponse:
    return xlsx_file(report) if kind == "xlsx" else csv_file(report)
