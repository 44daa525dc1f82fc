"""Neutralise formula-looking text in every CSV/XLSX export (CSV/formula injection).

A text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return, possibly after spaces; full-width forms too) is written with a
leading single quote, so it shows as the text it is. Numbers are never escaped: a negative
``Decimal`` amount is written as a number, it is not text that looks like a formula. Imported
text is stored unescaped (as the source had it); escaping happens on the way out, every time.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def looks_like_formula(text: str) -> bool:
    stripped = text.lstrip(" ")
    return (bool(stripped) and stripped[0] in FORMULA_STARTS) or (bool(text) and text[0] in "\t\r")


def escape_cell(value: Any) -> Any:
    """The value to hand to a CSV writer or an XLSX cell: strings escaped, everything else as is."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def escape_row(values: Iterable[Any]) -> list[Any]:
    return [escape_cell(v) for v in values]
