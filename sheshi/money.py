"""Money and currency primitives. Money is Decimal everywhere; rounding is explicit."""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django.core.validators import RegexValidator
from django.db import models

CURRENCY_VALIDATOR = RegexValidator(r"^[A-Z]{3}$", "Use an ISO 4217 currency code (three upper-case letters).")

# ISO 4217 active codes (2024). Kept here rather than a dependency: it changes rarely and a
# validation table must not change under historic data without a migration.
ISO_4217 = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD
SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD
XOF XPF YER ZAR ZMW ZWL
""".split())

# The same codes for the database's check of every journal line (line_currency_iso): PostgreSQL
# tests a check's IN list one code at a time, in this order, for every row written, so the most
# traded currencies (BIS triennial survey 2022) come first and the rest alphabetically. In
# alphabetical order the check cost ~3 microseconds a line (USD is 160th): a sixth of inserting
# a 55,000-line consolidation posting (bench/consolidation/README.md).
_MOST_TRADED = ("USD", "EUR", "JPY", "GBP", "CNY", "AUD", "CAD", "CHF", "HKD", "SGD", "SEK", "KRW", "NOK",
                "NZD", "INR", "MXN", "TWD", "ZAR", "BRL", "DKK", "PLN", "THB", "ILS", "IDR", "CZK", "AED",
                "TRY", "HUF", "CLP", "SAR", "PHP", "MYR", "COP", "RUB", "RON", "PEN")
ISO_4217_BY_USE = _MOST_TRADED + tuple(sorted(ISO_4217 - set(_MOST_TRADED)))

AMOUNT_DIGITS, AMOUNT_PLACES = 20, 4
RATE_DIGITS, RATE_PLACES = 24, 12
CENT = Decimal("0.01")
AMOUNT_QUANTUM = Decimal(1).scaleb(-AMOUNT_PLACES)


def amount_field(**kw) -> models.DecimalField:
    return models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kw)


def rate_field(**kw) -> models.DecimalField:
    return models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, **kw)


def quantize_amount(value: Decimal) -> Decimal:
    """Round to the stored precision, half-even (banker's rounding), explicitly."""
    return value.quantize(AMOUNT_QUANTUM, rounding=ROUND_HALF_EVEN)


def is_iso_currency(code: str) -> bool:
    return code in ISO_4217


# ISO 4217 minor units where they are not 2 (2024). Reports show and export money with the
# currency's own decimals; the ledger itself stores AMOUNT_PLACES for every currency.
_MINOR_UNITS = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
}


def currency_decimals(code: str) -> int:
    """The number of decimals a currency is shown with (2 unless ISO 4217 says otherwise)."""
    return _MINOR_UNITS.get(code, 2)


def money_display(value: Decimal | None, currency: str) -> str:
    """``1234567.891`` in EUR → ``1,234,567.89``: thousands separators, the currency's decimals,
    rounded half-even for display only (figures and exports keep the stored precision)."""
    if value is None:
        return ""
    places = currency_decimals(currency)
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if rounded == 0:
        rounded = abs(rounded)  # no "-0.00"
    return f"{rounded:,.{places}f}"
