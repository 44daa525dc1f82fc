"""Validation reports every problem at once, each with row, column, value and reason."""
import io
import tracemalloc
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ledger.imports.errors import ImportValidationError
from ledger.imports.mapping import ColumnMapping, ImportKind
from ledger.imports.reading import iter_rows
from ledger.imports.validation import ValidationReport, validate_file, validate_rows

from .helpers import FILES, TB, context, limits, problems

GL_DATES = ColumnMapping(kind=ImportKind.GL_DETAIL, account="Account", amount="Amount", date="Date",
                         date_format="%d.%m.%Y", description="Text")
GL_SIGNED = ColumnMapping(kind=ImportKind.GL_DETAIL, account="account", amount="AMOUNT", currency="Currency",
                          date="Date", counterparty="Partner", description="Text", reference="Doc")


def run(name, mapping, ctx=None, **lim):
    with open(FILES / name, "rb") as fh:
        return validate_file(fh, mapping=mapping, context=ctx or context(), limits=limits(**lim), filename=name)


def records(name, mapping, ctx=None):
    from ledger.imports.reading import inspect_file

    with open(FILES / name, "rb") as fh:
        info = inspect_file(fh, limits=limits(), filename=name, header_row=mapping.header_row)
        report = ValidationReport()
        out = list(validate_rows(iter_rows(fh, info, limits=limits(), sheet=mapping.sheet), mapping,
                                 ctx or context(), report))
    return out, report


@pytest.mark.parametrize("name", ["tb_utf8.csv", "tb_utf8_bom.csv", "tb_cp1252.csv"])
def test_a_balanced_trial_balance_validates_in_every_encoding(name):
    _, report = run(name, TB)
    assert report.ok and problems(report) == []
    assert (report.rows, report.debit_total, report.credit_total) == (4, Decimal("13845.67"), Decimal("13845.67"))
    recs, _ = records(name, TB)
    assert [(r.row, r.account_code, r.account, r.amount, r.description) for r in recs] == [
        (2, "1000", 1000, Decimal("1500.00"), "Kasse Zürich"),
        (3, "1200", 1200, Decimal("12345.67"), "Forderungen — Müller & Söhne"),
        (4, "2000", 2000, Decimal("-8845.67"), "Verbindlichkeiten Société Générale"),
        (5, "4000", 4000, Decimal("-5000.00"), "Umsatzerlöse"),
    ]
    assert recs[0].raw == ("1000", "Kasse Zürich", "1,500.00", "")


def test_semicolon_decimal_comma_file_with_a_title_validates():
    mapping = ColumnMapping(kind=ImportKind.TRIAL_BALANCE, account="Konto", debit="Soll", credit="Haben",
                            currency="Währung", description="Bezeichnung", header_row=3, decimal_comma=True)
    recs, report = records("tb_semicolon_decimal_comma.csv", mapping)
    assert report.ok, problems(report)
    assert [(r.row, r.amount, r.currency) for r in recs] == [
        (4, Decimal("1500.00"), "EUR"), (5, Decimal("12345.67"), "EUR"), (6, Decimal("-8845.67"), "EUR"),
        (7, Decimal("-5000.00"), "EUR")]


def test_the_same_decimal_comma_file_read_with_a_decimal_point_is_refused_not_misread():
    mapping = ColumnMapping(kind=ImportKind.TRIAL_BALANCE, account="Konto", debit="Soll", credit="Haben",
                            header_row=3)
    _, report = run("tb_semicolon_decimal_comma.csv", mapping)
    hint = "a group separator after the decimal separator '.'; is the file using a decimal comma?"
    assert problems(report)[:4] == [(4, "Soll", "1.500,00", hint), (5, "Soll", "12.345,67", hint),
                                    (6, "Haben", "8.845,67", hint), (7, "Haben", "5.000,00", hint)]


def test_parentheses_trailing_minus_currency_symbols_and_formula_text_in_a_gl_file():
    recs, report = records("gl_signed_formats.tsv", GL_SIGNED, context(functional_currency="USD"))
    assert report.ok, problems(report)
    assert [(r.row, r.reference, r.account_code, r.amount, r.currency, r.date, r.counterparty, r.description)
            for r in recs] == [
        (2, "INV-1", "1200", Decimal("1234.56"), "USD", date(2026, 1, 5), 2, "Invoice 1"),
        (3, "INV-1", "4000", Decimal("-1234.56"), "USD", date(2026, 1, 5), 2,
         '=HYPERLINK("http://x.example","click")'),
        (4, "PAY-1", "1000", Decimal("500.00"), "USD", date(2026, 1, 6), None, "+cmd|' /C calc'!A0"),
        (5, "PAY-1", "1200", Decimal("-500.00"), "USD", date(2026, 1, 6), None, "@SUM(1+1)"),
        (6, "ADJ-1", "1000", Decimal("-0.10"), "USD", date(2026, 1, 7), None, "-2+3"),
        (7, "ADJ-1", "4000", Decimal("0.10"), "USD", date(2026, 1, 7), None, ""),
    ]


def test_every_row_problem_is_reported_at_once_with_row_column_value_and_reason():
    mapping = replace(TB, currency="Currency")
    _, report = run("tb_problems.csv", mapping, context(functional_currency="USD"))
    assert problems(report) == [
        (3, "Account", "7777", "unknown account"),
        (4, "Account", "9999", "not mapped to the group chart"),
        (5, "Debit/Credit", "10.00/10.00", "debit and credit are both set"),
        (6, "Credit", "twelve", "not a number"),
        (7, "Credit", "1.5E+03",
         "exponent notation is ambiguous (the number may already be rounded); export plain digits"),
        (7, "Currency", "XYZ", "unknown currency (not an ISO 4217 code)"),
        (8, "Account", "", "the account is blank"),
        (9, "Debit", "1.23456", "more than 4 decimal places"),
        (10, "Debit", "1,5",
         "digits are not grouped in thousands around ',' or spaces; is the file using a decimal comma?"),
        (None, "Debit/Credit", "126.00",
         "the trial balance does not balance: debits 151.00, credits 25.00, difference 126.00 USD"),
    ]
    assert [e.code for e in report.errors] == [
        "account_unknown", "account_unmapped", "debit_and_credit", "amount_invalid", "amount_invalid",
        "currency_unknown", "account_missing", "amount_invalid", "amount_invalid", "not_balanced"]
    with pytest.raises(ImportValidationError) as exc:
        report.raise_if_invalid()
    assert (exc.value.code, exc.value.status, exc.value.detail) == (
        "import_rows_invalid", 422, "10 problem(s) found; nothing was imported")
    assert exc.value.errors[0].as_dict() == {"field": "Account", "message": "unknown account",
                                             "code": "account_unknown", "row": 3, "value": "7777"}


def test_an_unbalanced_trial_balance_reports_its_totals():
    _, report = run("tb_unbalanced.csv", TB)
    assert problems(report) == [(None, "Debit/Credit", "0.01",
                                 "the trial balance does not balance: debits 100.00, credits 99.99, "
                                 "difference 0.01 EUR")]
    assert (report.debit_total, report.credit_total) == (Decimal("100.00"), Decimal("99.99"))


def test_dates_outside_the_period_invalid_or_blank_are_each_reported():
    _, report = run("gl_dates.csv", GL_DATES)
    assert problems(report) == [
        (2, "Date", "31.12.2025", "outside the period 2026-01-01 to 2026-01-31"),
        (5, "Date", "01.02.2026", "outside the period 2026-01-01 to 2026-01-31"),
        (6, "Date", "32.01.2026", "not a date in the format %d.%m.%Y"),
        (7, "Date", "", "the date is blank"),
    ]


def test_a_closed_period_and_an_unknown_partner_are_reported():
    rows = "Date\tDoc\tAccount\tAmount\tCurrency\tPartner\tText\n2026-01-05\tD1\t1000\t5\tUSD\tXX99\t\n" \
           "2026-01-05\tD1\t4000\t-5\tUSD\t\t\n"
    ctx = context(functional_currency="USD", period_open=False, period_label="2026-01")
    _, report = validate_file(io.BytesIO(rows.encode()), mapping=GL_SIGNED, context=ctx, limits=limits())
    assert problems(report) == [(None, "period", "2026-01", "the period is not open"),
                                (2, "Partner", "XX99", "unknown entity")]


def test_foreign_currency_lines_need_a_functional_amount():
    mapping = ColumnMapping(kind=ImportKind.TRIAL_BALANCE, account="Account", amount="Amount", currency="Cur",
                            functional_amount="Amount EUR")
    data = "Account,Amount,Cur,Amount EUR\n1000,110.00,USD,100.00\n4000,-100.00,EUR,\n1200,5.00,GBP,\n" \
           "2000,-1.00,EUR,-2.00\n"
    _, report = validate_file(io.BytesIO(data.encode()), mapping=mapping, context=context(), limits=limits())
    assert problems(report) == [
        (4, "Amount EUR", "", "a GBP line needs its amount in EUR"),
        (5, "Amount EUR", "-2.00", "differs from the amount, which is already in EUR"),
    ]


def test_lines_of_one_document_must_balance():
    data = "Date\tDoc\tAccount\tAmount\tCurrency\tPartner\tText\n" \
           "2026-01-05\tD1\t1000\t5\tUSD\t\t\n2026-01-05\tD1\t4000\t-4\tUSD\t\t\n" \
           "2026-01-06\tD2\t1000\t-1\tUSD\t\t\n"
    _, report = validate_file(io.BytesIO(data.encode()), mapping=GL_SIGNED,
                              context=context(functional_currency="USD"), limits=limits())
    assert problems(report) == [(2, "Doc", "D1", "the lines of this document do not balance (difference 1)"),
                                (4, "Doc", "D2", "the lines of this document do not balance (difference -1)")]


def test_missing_header_columns_and_a_bad_mapping_are_reported_before_any_row():
    bad = replace(TB, debit="Soll", amount="Amount")
    _, report = run("tb_utf8.csv", bad)
    assert problems(report) == [
        (None, "mapping", None, "map either a signed amount or debit and credit columns, not both")]
    _, report = run("tb_utf8.csv", replace(TB, debit="Soll", currency="Währung"))
    assert problems(report) == [(1, "Soll", None, "column not found in the header row"),
                                (1, "Währung", None, "column not found in the header row")]


def test_xlsx_formula_amount_is_refused_and_formula_text_is_kept_as_text():
    mapping = replace(TB, date="Date", kind=ImportKind.TRIAL_BALANCE)
    recs, report = records("tb_formulas.xlsx", mapping)
    assert problems(report) == [
        (5, "Credit", "=C2+C3-D4", "a formula, not a number"),
        (None, "Debit/Credit", "5000.30", "the trial balance does not balance: debits 13845.97, credits 8845.67, "
                                         "difference 5000.30 EUR"),
    ]
    assert [(r.row, r.account_code, r.amount, r.description) for r in recs] == [
        (2, "1000", Decimal(1500), '=HYPERLINK("http://x.example","cash")'),
        (3, "1200", Decimal("12345.67"), "-Receivables"),
        (4, "2000", Decimal("-8845.67"), "+Payables"),
        (6, "5000", Decimal("0.3"), "Rounding noise"),
    ]


def test_errors_beyond_the_cap_are_counted_not_kept():
    data = "Account,Debit,Credit\n" + "7777,1.00,\n" * 50 + "4000,,50.00\n"
    _, report = validate_file(io.BytesIO(data.encode()), mapping=replace(TB, description=None),
                              context=context(max_errors=10), limits=limits())
    assert (len(report.errors), report.error_count, dict(report.error_codes)) == (10, 50, {"account_unknown": 50})
    with pytest.raises(ImportValidationError) as exc:
        report.raise_if_invalid()
    assert exc.value.detail == "50 problem(s) found; nothing was imported (the first 10 are listed)"


def test_an_empty_body_is_reported():
    _, report = validate_file(io.BytesIO(b"Account,Debit,Credit\n\n"), mapping=replace(TB, description=None),
                              context=context(), limits=limits())
    assert problems(report) == [(None, "file", None, "the file has no data rows")]


def _gl_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("Date,Account,Amount,Text\n")
        for i in range(rows // 2):
            fh.write(f"2026-01-{i % 28 + 1:02d},1000,{i}.25,line {i} for customer {i * 7}\n")
            fh.write(f"2026-01-{i % 28 + 1:02d},4000,-{i}.25,line {i} for customer {i * 7}\n")


def test_memory_does_not_grow_with_the_file(tmp_path):
    mapping = ColumnMapping(kind=ImportKind.GL_DETAIL, account="Account", amount="Amount", date="Date",
                            description="Text")
    peaks = []
    for rows in (8_000, 40_000):
        path = tmp_path / f"gl{rows}.csv"
        _gl_csv(path, rows)
        tracemalloc.start()
        with open(path, "rb") as fh:
            _, report = validate_file(fh, mapping=mapping, context=context(), limits=limits())
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert report.ok and report.rows == rows
    assert peaks[1] < peaks[0] * 1.25 + 64 * 1024, peaks
