"""ERP amount formats parse to exact Decimals, or are refused with a reason a person can act on."""
from decimal import Decimal

import pytest

from ledger.imports.numbers import AmountError, check_amount_precision, decimal_from_excel, parse_amount


@pytest.mark.parametrize(("text", "expected"), [
    ("1234.56", "1234.56"),
    ("-1234.56", "-1234.56"),
    ("1,234,567.89", "1234567.89"),
    ("12,34,567.89", "1234567.89"),  # Indian grouping
    ("1'234.50", "1234.50"),
    ("1 234.50", "1234.50"),
    ("1\u00a0234.50", "1234.50"),
    ("(1,234.56)", "-1234.56"),
    ("1,234.56-", "-1234.56"),
    ("$1,234.56", "1234.56"),
    ("-$1,234.56", "-1234.56"),
    ("$-1,234.56", "-1234.56"),
    ("(€5.00)", "-5.00"),
    ("€(5.00)", "-5.00"),
    ("EUR 100", "100"),
    ("100 usd", "100"),
    ("  42.10  ", "42.10"),
    ("+5", "5"),
    ("\u22127.10", "-7.10"),
    (".5", "0.5"),
    ("0.1", "0.1"),
    ("12345678901234567.1234", "12345678901234567.1234"),  # exact, no float on the way
])
def test_decimal_point_formats_parse_exactly(text, expected):
    value = parse_amount(text)
    assert value == Decimal(expected) and str(value) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("1.234,56", "1234.56"),
    ("1 234,56 €", "1234.56"),
    ("(1.234,56)", "-1234.56"),
    ("1.234,56-", "-1234.56"),
    ("-0,01", "-0.01"),
    ("12,5", "12.5"),
    ("1.234.567", "1234567"),
])
def test_decimal_comma_formats_parse_exactly(text, expected):
    assert str(parse_amount(text, decimal_comma=True)) == expected


@pytest.mark.parametrize("text", ["", "   ", "-", "\u2013"])
def test_blank_and_accounting_zero_dash_are_none(text):
    assert parse_amount(text) is None


@pytest.mark.parametrize(("text", "decimal_comma", "reason"), [
    ("1.2E+05", False, "exponent notation is ambiguous (the number may already be rounded); export plain digits"),
    ("3e2", False, "exponent notation is ambiguous (the number may already be rounded); export plain digits"),
    ("1,5", False, "digits are not grouped in thousands around ',' or spaces; is the file using a decimal comma?"),
    ("1.234,56", False, "a group separator after the decimal separator '.'; is the file using a decimal comma?"),
    ("1,234.56", True, "a group separator after the decimal separator ','; is the file using a decimal point?"),
    ("0.5", True, "digits are not grouped in thousands around '.' or spaces; is the file using a decimal point?"),
    ("1.2.3", False, "more than one decimal separator '.'; is the file using a decimal comma?"),
    ("=1+2", False, "a formula, not a number"),
    ("@SUM(A1)", False, "a formula, not a number"),
    ("(-5)", False, "more than one sign"),
    ("-5-", False, "more than one sign"),
    ("(5", False, "unbalanced parentheses"),
    ("USD 5 EUR", False, "more than one currency marker"),
    ("twelve", False, "not a number"),
    ("5 CR", False, "not a number"),
    ("NaN", False, "not a number"),
    ("12 - 5", False, "not a number"),
])
def test_ambiguous_or_malformed_amounts_are_refused_with_the_reason(text, decimal_comma, reason):
    with pytest.raises(AmountError) as exc:
        parse_amount(text, decimal_comma=decimal_comma)
    assert str(exc.value) == reason


def test_precision_is_checked_never_rounded():
    assert check_amount_precision(Decimal("1.2300000")) == Decimal("1.23")
    assert check_amount_precision(Decimal("9999999999999999.9999")) == Decimal("9999999999999999.9999")
    with pytest.raises(AmountError, match=r"^more than 4 decimal places$"):
        check_amount_precision(Decimal("1.23456"))
    with pytest.raises(AmountError, match=r"^too large \(more than 16 digits before the decimal point\)$"):
        check_amount_precision(Decimal("10000000000000000"))


@pytest.mark.parametrize(("value", "expected"), [
    (1500, "1500"),
    (12345.67, "12345.67"),
    (0.1 + 0.2, "0.3"),  # a computed double: rounded to Excel's 15 significant digits
    (-8845.67, "-8845.67"),
    (1e15, "1000000000000000"),
])
def test_excel_numbers_become_the_decimal_that_was_typed(value, expected):
    result = decimal_from_excel(value)
    assert isinstance(result, Decimal) and str(result) == expected


def test_excel_booleans_and_infinities_are_not_numbers():
    with pytest.raises(AmountError):
        decimal_from_excel(True)
    with pytest.raises(AmountError):
        decimal_from_excel(float("inf"))
