"""Formula-looking text is escaped on every export; numbers, including negatives, are not."""
import csv
import io
from decimal import Decimal

import pytest

from sheshi.escaping import escape_cell, escape_row


@pytest.mark.parametrize(("value", "expected"), [
    ('=HYPERLINK("http://x.example","click")', '\'=HYPERLINK("http://x.example","click")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("  =1+1", "'  =1+1"),
    ("\uff1d1+1", "'\uff1d1+1"),
    ("Invoice 1", "Invoice 1"),
    ("", ""),
    ("a=b", "a=b"),
])
def test_text_that_a_spreadsheet_would_run_is_prefixed_with_a_quote(value, expected):
    assert escape_cell(value) == expected


def test_numbers_and_dates_are_left_alone_even_when_negative():
    assert escape_row([Decimal("-1234.56"), -5, None, "-5"]) == [Decimal("-1234.56"), -5, None, "'-5"]


def test_an_escaped_csv_round_trips_to_the_quoted_text():
    out = io.StringIO()
    csv.writer(out).writerow(escape_row(["1000", "=1+2", Decimal("-7.50")]))
    assert out.getvalue() == "1000,'=1+2,-7.50\r\n"
