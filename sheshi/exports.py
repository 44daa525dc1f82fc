"""CSV and XLSX responses for reports. Text is escaped against formula injection on the way
out; numbers stay numbers (Decimal → numeric cells with a number format)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from sheshi.escaping import escape_row

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NUMBER_FORMAT = "#,##0.0000;[Red]-#,##0.0000"


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow(escape_row(row))
    resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return resp


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(filename[:31])
    ws.append(list(header))
    for row in rows:
        cells = []
        for v in escape_row(row):
            if isinstance(v, Decimal):
                cell = WriteOnlyCell(ws, value=v)
                cell.number_format = NUMBER_FORMAT
                cells.append(cell)
            else:
                cells.append(v)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    resp = HttpResponse(out.getvalue(), content_type=XLSX_TYPE)
    resp["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return resp


def export(kind: str, filename: str, header: Sequence[str], rows: list[Sequence]) -> HttpResponse:
    return (xlsx_response if kind == "xlsx" else csv_response)(filename, header, rows)
