"""FX rates from a CSV file: ``from,to,type,rate,date`` (rate = units of ``to`` per one ``from``).

All or nothing: every row is checked first and every problem is reported with its row, column,
value and reason; then the rates are written in one statement (with their history rows). A rate
dated in a group-locked period is refused by PostgreSQL (fx_rate_frozen), as for one rate.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from django.db import DatabaseError, IntegrityError, transaction
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


def _parse(reader: csv.DictReader) -> tuple[list[FxRate], list[FieldError]]:
    rows, errors = [], []
    for n, raw in enumerate(reader, start=2):  # row 1 is the header
        if n - 1 > MAX_ROWS:
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
            rows.append(FxRate(from_currency=rec["from"], to_currency=rec["to"], rate_type=rec["type"],
                               rate_date=on, rate=rate))
    return rows, errors


def fx_rates_import(*, actor, organisation: Organisation, stream: BinaryIO, source: str = "csv") -> RatesImportResult:
    """Check every row, then write all rates in one transaction; nothing is written on any problem."""
    if actor is not None and not actor.is_superuser:
        allowed = [e for e in Entity.objects.filter(organisation=organisation) if actor.has_perm(CLOSE, e)]
        if not allowed:
            raise PermissionDenied("Loading FX rates needs the close permission on an entity of the organisation.")
    try:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        reader = csv.DictReader(text)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValidationFailed("The file lacks required columns.", errors=[
                FieldError(c, "Missing column.", code="missing_column", row=1) for c in missing])
        rows, errors = _parse(reader)
    except UnicodeDecodeError as exc:
        raise ValidationFailed("The file is not UTF-8 text.", errors=[FieldError("file", str(exc))]) from exc
    if errors:
        raise ValidationFailed(f"{len(errors)} problems; no rate was loaded.", errors=errors)
    seen: dict[tuple, int] = {}
    for i, r in enumerate(rows, start=2):
        key = (r.from_currency, r.to_currency, r.rate_type, r.rate_date)
        if key in seen:
            errors.append(FieldError("date", f"Same pair, type and date as row {seen[key]}.", code="duplicate_rate",
                                     row=i, value=r.rate_date))
        seen[key] = i
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
