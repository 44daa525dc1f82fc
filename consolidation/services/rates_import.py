"""FX rates from a CSV or XLSX file: ``from,to,type,rate,date`` (rate = units of ``to`` per one
``from``; an XLSX file's first sheet, header in row 1).

All or nothing: every row is checked first and every problem is reported with its row, column,
value and reason - including a rate the organisation already holds for the same pair, type and
date; then the rates are written in one statement (with their history rows, and one audit event
each through the table's audit trigger). A rate dated in a locked period is refused by PostgreSQL
(fx_rate_frozen), as for one rate.
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from django.db import DatabaseError, IntegrityError, transaction
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from simple_history.utils import bulk_create_with_history

from consolidation.models import FxRate
from consolidation.models.rates import FxRateType
from sheshi.access.roles import CLOSE
from sheshi.errors import FieldError, PermissionDenied, ValidationFailed, from_db_error
from sheshi.money import RATE_DIGITS, RATE_PLACES, is_iso_currency
from sheshi.tenancy.models import Entity, Organisation

COLUMNS = ("from", "to", "type", "rate", "date")
MAX_ROWS = 100_000


@dataclass(frozen=True)
class RatesImportResult:
    created: int


def _cell(value) -> str:
    """An XLSX cell as the text a CSV would hold: dates as YYYY-MM-DD, numbers in their shortest
    round-trip spelling (openpyxl gives floats; ``str`` of a float is the decimal that was typed)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_records(stream: BinaryIO) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise ValidationFailed("The file is not a readable XLSX workbook.", errors=[
            FieldError("file", "Not an XLSX workbook.", code="unreadable_file")]) from exc
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = [_cell(v).strip() for v in next(rows, ())]
    return header, ((n, {h: _cell(v) for h, v in zip(header, row, strict=False) if h})
                    for n, row in enumerate(rows, start=2) if any(v not in (None, "") for v in row))


def _csv_records(stream: BinaryIO) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    reader = csv.DictReader(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""))
    return list(reader.fieldnames or []), ((reader.line_num, raw) for raw in reader)


def _parse(records: Iterator[tuple[int, dict[str, str]]]) -> tuple[list[FxRate], list[FieldError]]:
    """Row numbers are the file's (row 1 is the header; skipped blank rows keep their numbers)."""
    rows, errors = [], []
    for count, (n, raw) in enumerate(records, start=1):
        if count > MAX_ROWS:
            errors.append(FieldError("file", f"More than {MAX_ROWS} rows.", code="too_many_rows", row=n))
            break
        rec = {k: (raw.get(k) or "").strip() for k in COLUMNS}
        row_errors = []
        for col in ("from", "to"):
            if not is_iso_currency(rec[col]):
                row_errors.append(FieldError(col, "Not an ISO 4217 currency.", code="invalid_currency", row=n,
                                             value=rec[col]))
        if rec["from"] == rec["to"] and rec["from"]:
            row_errors.append(FieldError("to", "A rate needs two different currencies.", code="same_currency", row=n,
                                         value=rec["to"]))
        if rec["type"] not in FxRateType.values:
            row_errors.append(FieldError("type", f"Use one of {', '.join(FxRateType.values)}.", code="invalid_type",
                                         row=n, value=rec["type"]))
        try:
            rate = Decimal(rec["rate"])
            if not rate.is_finite() or rate <= 0 or "e" in rec["rate"].lower():
                raise InvalidOperation
            if rate.as_tuple().exponent < -RATE_PLACES or rate.adjusted() >= RATE_DIGITS - RATE_PLACES:
                raise InvalidOperation
        except InvalidOperation:
            rate = None
            row_errors.append(FieldError("rate", f"A positive decimal with at most {RATE_PLACES} places.",
                                         code="invalid_rate", row=n, value=rec["rate"]))
        try:
            on = date.fromisoformat(rec["date"])
        except ValueError:
            on = None
            row_errors.append(FieldError("date", "Use YYYY-MM-DD.", code="invalid_date", row=n, value=rec["date"]))
        errors += row_errors
        if not row_errors:
            row = FxRate(from_currency=rec["from"], to_currency=rec["to"], rate_type=rec["type"], rate_date=on,
                         rate=rate)
            row.source_row = n
            rows.append(row)
    return rows, errors


def fx_rates_import(*, actor, organisation: Organisation, stream: BinaryIO, source: str = "csv",
                    filename: str = "") -> RatesImportResult:
    """Check every row, then write all rates in one transaction; nothing is written on any problem.
    ``filename`` ending in .xlsx reads the stream as a workbook, anything else as UTF-8 CSV."""
    if actor is not None and not actor.is_superuser:
        allowed = [e for e in Entity.objects.filter(organisation=organisation) if actor.has_perm(CLOSE, e)]
        if not allowed:
            raise PermissionDenied("Loading FX rates needs the close permission on an entity of the organisation.")
    try:
        header, records = (_xlsx_records if filename.lower().endswith(".xlsx") else _csv_records)(stream)
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise ValidationFailed("The file lacks required columns.", errors=[
                FieldError(c, "Missing column.", code="missing_column", row=1) for c in missing])
        rows, errors = _parse(records)
    except UnicodeDecodeError as exc:
        raise ValidationFailed("The file is not UTF-8 text.", errors=[FieldError("file", str(exc))]) from exc
    if errors:
        raise ValidationFailed(f"{len(errors)} problems; no rate was loaded.", errors=errors)
    if not rows:
        raise ValidationFailed("The file holds no rates.", errors=[
            FieldError("file", "No rows under the header.", code="empty_file", row=2)])
    seen: dict[tuple, int] = {}
    for r in rows:
        key = (r.from_currency, r.to_currency, r.rate_type, r.rate_date)
        if key in seen:
            errors.append(FieldError("date", f"Same pair, type and date as row {seen[key]}.", code="duplicate_rate",
                                     row=r.source_row, value=r.rate_date))
        seen[key] = r.source_row
    held = set(FxRate.objects.filter(organisation=organisation, rate_date__in={r.rate_date for r in rows})
               .values_list("from_currency", "to_currency", "rate_type", "rate_date"))
    errors += [FieldError("date", "The organisation already holds this rate (same pair, type and date); a rate is "
                                  "never replaced.", code="rate_exists", row=r.source_row, value=r.rate_date)
               for r in rows if (r.from_currency, r.to_currency, r.rate_type, r.rate_date) in held]
    if errors:
        raise ValidationFailed(f"{len(errors)} problems; no rate was loaded.", errors=errors)
    for r in rows:
        r.organisation = organisation
        r.source = source[:64]
    try:
        with transaction.atomic():
            bulk_create_with_history(rows, FxRate, batch_size=5000)
    except (IntegrityError, DatabaseError) as exc:
        mapped = from_db_error(exc)
        if mapped is not None:
            raise mapped from exc
        raise
    return RatesImportResult(created=len(rows))
