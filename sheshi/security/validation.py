"""Strict validation helpers shared by serializers and services: clear, field-level errors for
money, currencies, dates, codes and bank identifiers. Nothing is coerced silently."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from rest_framework import serializers

from sheshi.money import AMOUNT_DIGITS, AMOUNT_PLACES, is_iso_currency

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
_TAX_ID = re.compile(r"^[A-Z0-9][A-Z0-9 ./-]{3,30}$")


# The one shape a decimal string may have wherever money enters: ASCII digits, an optional leading
# '-', an optional '.' with decimals. No spaces, no '+', no exponent ("1e1"), no other scripts'
# digits ("١٠"): Python's Decimal() accepts all of those, so it never sees a string first.
# (Also "5." and ".5", which the OpenAPI pattern of a DRF DecimalField allows.)
DECIMAL_STRING = re.compile(r"-?(?=\.?[0-9])[0-9]{0,40}(?:\.[0-9]{0,40})?")
DECIMAL_STRING_MESSAGE = ('Use a plain decimal string: ASCII digits, an optional leading "-" and "." '
                          '(e.g. "-1234.50"); no spaces, "+", exponent or other digits.')


def parse_decimal(value, *, places: int = AMOUNT_PLACES, digits: int = AMOUNT_DIGITS) -> Decimal:
    """A finite decimal with at most ``places`` decimals and ``digits`` digits in all. Floats are
    refused (they have already lost precision); strings must match ``DECIMAL_STRING``; Decimals
    (JSON numbers, parsed without float) and integers are accepted."""
    if isinstance(value, (bool, float)):
        raise ValidationError("Send amounts as decimal strings, not floating-point numbers.", code="float")
    if isinstance(value, str):
        if not DECIMAL_STRING.fullmatch(value):
            raise ValidationError(DECIMAL_STRING_MESSAGE, code="invalid")
        d = Decimal(value)
    elif isinstance(value, Decimal | int):
        d = Decimal(value)
    else:
        raise ValidationError("Not a decimal number.", code="invalid")
    if not d.is_finite():
        raise ValidationError("Not a finite number.", code="invalid")
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise ValidationError(f"At most {places} decimal places.", code="max_decimal_places")
    if d != 0 and d.adjusted() + 1 > digits - places:  # adjusted(): also right for 1E+400
        raise ValidationError(f"At most {digits - places} digits before the decimal point.", code="max_whole_digits")
    return d


def validate_currency(code: str) -> str:
    if not isinstance(code, str) or not is_iso_currency(code):
        raise ValidationError("Not an ISO 4217 currency code (e.g. EUR, USD).", code="invalid_currency")
    return code


def validate_code(code: str) -> str:
    if not isinstance(code, str) or not _CODE.match(code):
        raise ValidationError("Use 1-32 upper-case letters, digits, '_', '.' or '-'.", code="invalid_code")
    return code


def parse_iso_date(value) -> date:
    """Exactly YYYY-MM-DD and a real calendar date (no 2026-02-30, no locale formats)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValidationError("Use an ISO 8601 date: YYYY-MM-DD.", code="invalid_date")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("Not a calendar date.", code="invalid_date") from exc


def normalise_iban(value: str) -> str:
    """Upper-case, spaces removed, shape and ISO 13616 mod-97 checksum verified."""
    iban = (value or "").replace(" ", "").upper()
    if not _IBAN.match(iban):
        raise ValidationError("Not an IBAN (country, check digits, then 11-30 letters or digits).",
                              code="invalid_iban")
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    if int(digits) % 97 != 1:
        raise ValidationError("The IBAN check digits do not match.", code="invalid_iban")
    return iban


def validate_bic(value: str) -> str:
    if value and not _BIC.match(value):
        raise ValidationError("Not a BIC (8 or 11 letters/digits).", code="invalid_bic")
    return value


def normalise_tax_id(value: str) -> str:
    tax_id = (value or "").strip().upper()
    if not _TAX_ID.match(tax_id):
        raise ValidationError("Not a tax id (4-31 letters, digits, spaces, '.', '/' or '-').", code="invalid_tax_id")
    return tax_id


class StrictDecimalField(serializers.Field):
    """DRF field: decimal string in, decimal string out; refuses floats and extra places."""

    def __init__(self, *, places: int = AMOUNT_PLACES, digits: int = AMOUNT_DIGITS, **kw):
        self.places, self.digits = places, digits
        super().__init__(**kw)

    def to_internal_value(self, data):
        try:
            return parse_decimal(data, places=self.places, digits=self.digits)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from exc

    def to_representation(self, value):
        return str(value)


class DecimalStringField(serializers.DecimalField):
    """DRF's DecimalField (same schema, same output) that takes in only what ``parse_decimal``
    does: the strict decimal string (or a JSON number), never "1e1", " +10.00 " or "١٠"."""

    def to_internal_value(self, data):
        try:
            parse_decimal(data, places=self.decimal_places, digits=self.max_digits)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from exc
        return super().to_internal_value(data)


class CurrencyField(serializers.CharField):
    def __init__(self, **kw):
        super().__init__(min_length=3, max_length=3, **kw)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return validate_currency(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from exc


class IsoDateField(serializers.DateField):
    def to_internal_value(self, value):
        try:
            return parse_iso_date(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from exc
