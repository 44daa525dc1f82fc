"""Formulas with their values cached, in an openpyxl workbook.

openpyxl writes a formula cell with an empty value, so a reader that does not recalculate (a
viewer, a script with ``load_workbook(data_only=True)``, a preview pane) sees nothing. Here each
formula is written with the value it evaluates to, computed by us from the same figures, and the
saved file is patched to carry that value (``<c><f>SUM(..)</f><v>123.45</v></c>``, as Excel writes
it). Excel still recalculates on open (``fullCalcOnLoad``)."""
from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal

from openpyxl import Workbook


class CachedFormulas:
    def __init__(self) -> None:
        self._values: dict[str, dict[str, Decimal]] = {}

    def set(self, ws, coordinate: str, formula: str, value: Decimal, number_format: str | None = None) -> None:
        cell = ws[coordinate]
        cell.value = formula
        if number_format:
            cell.number_format = number_format
        self._values.setdefault(ws.title, {})[coordinate] = value

    def value(self, ws, coordinate: str) -> Decimal:
        """The cached value recorded for a formula cell."""
        return self._values[ws.title][coordinate]

    def save(self, wb: Workbook, target) -> None:
        """Save ``wb`` to a path or binary stream with every recorded formula's cached value."""
        wb.calculation.fullCalcOnLoad = True
        raw = io.BytesIO()
        wb.save(raw)
        paths = {f"xl/worksheets/sheet{i}.xml": ws.title for i, ws in enumerate(wb.worksheets, start=1)}
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
                zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                data = src.read(item.filename)
                values = self._values.get(paths.get(item.filename, ""))
                if values:
                    data = _fill(data.decode("utf-8"), values).encode("utf-8")
                dst.writestr(item, data)
        if hasattr(target, "write"):
            target.write(out.getvalue())
        else:
            with open(target, "wb") as fh:
                fh.write(out.getvalue())


_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>([^<]*)</f>(<v\s*/>|<v></v>)?</c>')


def _number(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fill(xml: str, values: dict[str, Decimal]) -> str:
    missing = set(values)

    def repl(m: re.Match) -> str:
        coordinate = m.group(1)
        if coordinate not in values:
            return m.group(0)
        missing.discard(coordinate)
        return f'<c r="{coordinate}"{m.group(2)}><f>{m.group(3)}</f><v>{_number(values[coordinate])}</v></c>'

    xml = _CELL.sub(repl, xml)
    if missing:  # the writer's output changed shape: never ship a pack with silent blanks
        raise RuntimeError(f"Formula cells not found in the sheet XML: {sorted(missing)[:5]}")
    return xml
