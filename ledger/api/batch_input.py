"""The batch endpoint's request, read without DRF serializers: 10,000 entries through nested
serializers take seconds; this reads the same fields with the same rules (the serializers in
ledger/api/serializers.py document them in the schema) in a few dozen milliseconds.

Both forms end as the same entries; every problem is listed with the entry's index, the line's,
the field and, for CSV, the row (the header is row 1)."""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from ledger.inputs import EntryInput, LineInput, entry_of, plain_line
from ledger.models import Account
from periods.models import Period
from sheshi.errors import FieldError
from sheshi.money import AMOUNT_DIGITS, AMOUNT_PLACES, RATE_DIGITS, RATE_PLACES
from sheshi.security.validation import parse_decimal, parse_iso_date
from sheshi.tenancy.models import Entity

MAX_LINES_PER_ENTRY = 10_000
_CURRENCY = re.compile(r"^[A-Z]{3}$")
CSV_ENTRY_COLUMNS = ("entry_date", "period", "description", "reference")
CSV_LINE_COLUMNS = ("account", "amount", "currency", "rate", "functional_amount", "counterparty", "memo")
CSV_REQUIRED = ("entry", "entry_date", "description", "account", "amount")
CSV_DIMENSION_PREFIX = "dim."


class CsvTextParser(BaseParser):
    """text/csv bodies arrive as text (UTF-8, a leading BOM dropped); the view reads the rows."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            text = stream.read().decode("utf-8") if stream is not None else ""
        except UnicodeDecodeError as exc:
            raise ParseError(f"CSV parse error - not UTF-8 ({exc.reason} at byte {exc.start})") from exc
        if "\x00" in text:
            raise ParseError("CSV parse error - the body contains a NUL character")
        return text.removeprefix("\ufeff")


class Codes:
    """The organisation's codes, read once per request (a chart has hundreds of accounts)."""

    def __init__(self, entity: Entity):
        org = entity.organisation_id
        self.functional_currency = entity.functional_currency
        self.accounts = dict(Account.objects.filter(organisation_id=org).values_list("code", "id"))
        self.entities = dict(Entity.objects.filter(organisation_id=org).values_list("code", "id"))
        self.periods = dict(Period.objects.filter(organisation_id=org).values_list("code", "id"))


class _Problems:
    def __init__(self):
        self.errors: list[FieldError] = []
        self.dates: dict[str, date] = {}  # a batch's entries share a few hundred dates: each parsed once

    def add(self, field: str, message: str, code: str = "invalid", row: int | None = None, value=None) -> None:
        self.errors.append(FieldError(field, message, code, row, None if value is None else str(value)[:200]))


def _text(raw: dict, key: str, where: str, p: _Problems, *, max_length: int, required: bool = False,
          row: int | None = None) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            p.add(f"{where}.{key}", "This field is required.", "required", row)
        return None
    if not isinstance(value, str):
        p.add(f"{where}.{key}", "Not a string.", "invalid", row, value)
        return None
    if len(value) > max_length:
        p.add(f"{where}.{key}", f"At most {max_length} characters.", "max_length", row)
        return None
    return value


def _decimal(raw: dict, key: str, where: str, p: _Problems, *, required: bool = False, row: int | None = None,
             **limits) -> Decimal | None:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            p.add(f"{where}.{key}", "This field is required.", "required", row)
        return None
    try:
        return parse_decimal(value, **limits)
    except ValidationError as exc:
        p.add(f"{where}.{key}", exc.messages[0], exc.code or "invalid", row, value)
        return None


# An amount string that parse_decimal accepts as it is (at most AMOUNT_DIGITS - AMOUNT_PLACES
# whole digits and AMOUNT_PLACES decimals): read with Decimal() alone. Anything else ("5.", a
# JSON number, 17 whole digits with leading zeros, a wrong string) takes parse_decimal's path.
_PLAIN_AMOUNT = re.compile(rf"-?[0-9]{{1,{AMOUNT_DIGITS - AMOUNT_PLACES}}}(?:\.[0-9]{{1,{AMOUNT_PLACES}}})?")


def _plain_line(raw, accounts: dict[str, int], row: int | None) -> LineInput | None:
    """The common line, {"account": known code, "amount": plain decimal string} and nothing else,
    read without the general path's per-field checks (they would all pass); None otherwise."""
    if type(raw) is not dict or len(raw) != 2:
        return None
    code, amount = raw.get("account"), raw.get("amount")
    if type(code) is not str or type(amount) is not str or _PLAIN_AMOUNT.fullmatch(amount) is None:
        return None
    account_id = accounts.get(code)  # a known code: a non-empty string of at most 32 characters
    if account_id is None:
        return None
    return plain_line(account_id, Decimal(amount), row)


def _line(raw, where: str, codes: Codes, p: _Problems, row: int | None) -> LineInput | None:
    if not isinstance(raw, dict):
        p.add(where, "Each line is an object.", "invalid", row)
        return None
    before = len(p.errors)
    account_code = _text(raw, "account", where, p, max_length=32, required=True, row=row)
    account_id = codes.accounts.get(account_code) if account_code is not None else None
    if account_code is not None and account_id is None:
        p.add(f"{where}.account", "Unknown account code.", "unknown_account", row, account_code)
    amount = _decimal(raw, "amount", where, p, required=True, row=row)
    # The optional fields are read only when sent: most lines carry an account and an amount alone.
    currency = rate = functional = counterparty_id = None
    dimensions, memo = {}, ""
    if len(raw) > 2 or "account" not in raw or "amount" not in raw:
        currency = _text(raw, "currency", where, p, max_length=3, row=row)
        if currency is not None and not _CURRENCY.match(currency):
            p.add(f"{where}.currency", "Use an ISO 4217 code: three upper-case letters.", "invalid_currency", row,
                  currency)
        rate = _decimal(raw, "rate", where, p, row=row, places=RATE_PLACES, digits=RATE_DIGITS)
        functional = _decimal(raw, "functional_amount", where, p, row=row)
        # A foreign-currency line states its rate, as on the single create endpoint.
        if currency not in (None, codes.functional_currency) and rate is None and "rate" not in raw:
            p.add(f"{where}.rate", f"A {currency} line needs a rate to {codes.functional_currency}.",
                  "rate_required", row)
        cp_code = _text(raw, "counterparty", where, p, max_length=32, row=row)
        counterparty_id = codes.entities.get(cp_code) if cp_code is not None else None
        if cp_code is not None and counterparty_id is None:
            p.add(f"{where}.counterparty", "Unknown entity code.", "unknown_counterparty", row, cp_code)
        dimensions = raw.get("dimensions") or {}
        if not isinstance(dimensions, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and len(v) <= 64 for k, v in dimensions.items()):
            p.add(f"{where}.dimensions", "An object of strings (values up to 64 characters).", "invalid", row)
            dimensions = {}
        memo = _text(raw, "memo", where, p, max_length=500, row=row) or ""
    if len(p.errors) > before:
        return None
    return LineInput(account_id=account_id, amount=amount, currency=currency, rate=rate, functional_amount=functional,
                     counterparty_id=counterparty_id, dimensions=dimensions, memo=memo, source_row=row)


def _entry(index: int, raw, codes: Codes, p: _Problems, rows: list[int] | None = None) -> EntryInput | None:
    if type(raw) is dict and len(raw) == 3:  # the common entry: a known date, a description and plain lines
        value, description, raw_lines = raw.get("entry_date"), raw.get("description"), raw.get("lines")
        entry_date = p.dates.get(value) if type(value) is str else None
        if (entry_date is not None and type(description) is str and 0 < len(description) <= 500
                and type(raw_lines) is list and 2 <= len(raw_lines) <= MAX_LINES_PER_ENTRY):
            accounts = codes.accounts
            lines = [_plain_line(li, accounts, rows[no] if rows else None) for no, li in enumerate(raw_lines)]
            for line in lines:
                if line is None:
                    break
            else:
                return entry_of(entry_date, description, lines, None, "")
    where = f"entries[{index}]"
    row = rows[0] if rows else None
    if not isinstance(raw, dict):
        p.add(where, "Each entry is an object.", "invalid")
        return None
    before = len(p.errors)
    value = raw.get("entry_date")
    entry_date = p.dates.get(value) if type(value) is str else None
    if entry_date is not None:
        pass
    elif value in (None, ""):
        p.add(f"{where}.entry_date", "This field is required.", "required", row)
    else:
        try:
            entry_date = parse_iso_date(value)
        except ValidationError as exc:
            p.add(f"{where}.entry_date", exc.messages[0], exc.code or "invalid", row, value)
        else:
            if type(value) is str:
                p.dates[value] = entry_date
    description = _text(raw, "description", where, p, max_length=500, required=True, row=row)
    reference = _text(raw, "reference", where, p, max_length=100, row=row) or ""
    period_code = _text(raw, "period", where, p, max_length=16, row=row)
    period_id = codes.periods.get(period_code) if period_code is not None else None
    if period_code is not None and period_id is None:
        p.add(f"{where}.period", "Unknown period code.", "unknown_period", row, period_code)
    raw_lines = raw.get("lines")
    lines: list[LineInput | None] = []
    if not isinstance(raw_lines, list):
        p.add(f"{where}.lines", "A list of lines is required.", "required", row)
    elif not 2 <= len(raw_lines) <= MAX_LINES_PER_ENTRY:
        p.add(f"{where}.lines", f"Between 2 and {MAX_LINES_PER_ENTRY:,} lines.", "too_few_lines"
              if len(raw_lines) < 2 else "too_many_lines", row)
    else:
        accounts = codes.accounts
        lines = [_plain_line(li, accounts, rows[no] if rows else None)
                 or _line(li, f"{where}.lines[{no}]", codes, p, rows[no] if rows else None)
                 for no, li in enumerate(raw_lines)]
    if len(p.errors) > before:
        return None
    return entry_of(entry_date, description, lines, period_id, reference)


def entries_from_json(raw_entries, codes: Codes) -> tuple[list[EntryInput], list[FieldError]]:
    p = _Problems()
    if not isinstance(raw_entries, list):
        p.add("entries", "A list of entries is required.", "required")
        return [], p.errors
    entries = [_entry(i, raw, codes, p) for i, raw in enumerate(raw_entries)]
    return [e for e in entries if e is not None], p.errors


def csv_entries(text: str) -> tuple[list[dict], list[list[int]], list[FieldError]]:
    """The CSV's rows as entries in the JSON shape, the row number of each line, and the
    problems of the file's layout. Consecutive rows with the same ``entry`` value form one
    entry; its date, period, description and reference come from its first row."""
    p = _Problems()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        p.add("body", "The CSV is empty: a header row is required.", "required", 1)
        return [], [], p.errors
    except csv.Error as exc:
        p.add("body", f"Not a readable CSV: {exc}.", "invalid", 1)
        return [], [], p.errors
    known = {"entry", *CSV_ENTRY_COLUMNS, *CSV_LINE_COLUMNS}
    for name in header:
        if name not in known and not (name.startswith(CSV_DIMENSION_PREFIX) and len(name) > 4):
            p.add(f"header.{name}", "Unknown column.", "unknown_column", 1, name)
    for name in CSV_REQUIRED:
        if name not in header:
            p.add(f"header.{name}", "Required column missing.", "required", 1)
    if p.errors:
        return [], [], p.errors
    col = {name: i for i, name in enumerate(header)}
    dims = [(name[len(CSV_DIMENSION_PREFIX):], i) for name, i in col.items() if name.startswith(CSV_DIMENSION_PREFIX)]
    entries: list[dict] = []
    rows: list[list[int]] = []
    key = None
    try:
        for row_no, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                p.add(f"row {row_no}", f"{len(cells)} cells; the header has {len(header)}.", "invalid", row_no)
                continue
            line = {k: cells[col[k]] for k in CSV_LINE_COLUMNS if k in col and cells[col[k]] != ""}
            if dims:
                line["dimensions"] = {name: cells[i] for name, i in dims if cells[i] != ""}
            if cells[col["entry"]] != key or not entries:
                key = cells[col["entry"]]
                entries.append({k: cells[col[k]] for k in CSV_ENTRY_COLUMNS if k in col and cells[col[k]] != ""}
                               | {"lines": []})
                rows.append([])
            else:
                for k in CSV_ENTRY_COLUMNS:
                    if k in col and cells[col[k]] not in ("", entries[-1].get(k, "")):
                        p.add(f"entries[{len(entries) - 1}].{k}", "Differs from the entry's first row.",
                              "inconsistent_entry", row_no, cells[col[k]])
            entries[-1]["lines"].append(line)
            rows[-1].append(row_no)
    except csv.Error as exc:
        p.add("body", f"Not a readable CSV: {exc}.", "invalid", reader.line_num)
    return entries, rows, p.errors


def entries_from_csv(raw_entries: list[dict], rows: list[list[int]], codes: Codes) -> tuple[list[EntryInput],
                                                                                           list[FieldError]]:
    p = _Problems()
    entries = [_entry(i, raw, codes, p, rows[i]) for i, raw in enumerate(raw_entries)]
    return [e for e in entries if e is not None], p.errors
