"""ERP number formats to ``Decimal``, exactly, or a clear refusal. Never through float.

Accepted: thousands separators (``1,234,567.89``; Indian ``12,34,567.89``; spaces, no-break spaces
and apostrophes as group separators), a leading or trailing minus, parentheses for negatives, a
leading ``+``, a currency symbol or ISO code before or after, a decimal comma when the mapping
says so. A blank cell (or the accounting zero ``-``) is ``None``: the mapping decides whether that
means zero. Refused, with the reason: exponent notation (``1.2E+05`` is what a spreadsheet
writes when it has already rounded the number), digits grouped in a way that does not match the
configured separators (``1,5`` with a decimal point is not fifteen), two signs, two currencies,
a formula.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal

from sheshi.money import AMOUNT_DIGITS, AMOUNT_PLACES, ISO_4217

CURRENCY_SYMBOLS = frozenset("$€£¥₹₽₺₩₪₫₴₦₱₲₵¢₡₭₮₸₼₾฿")
GROUP_SPACES = " \u00a0\u202f\u2009'’"  # space, no-break space, narrow no-break, thin space, apostrophes
MINUS_SIGNS = "-\u2212\u2013"  # hyphen-minus, minus sign, en dash (what some ERPs export)
EXCEL_DIGITS = 15  # significant digits Excel keeps; beyond this an XLSX number is binary noise
_AMOUNT_LIMIT = Decimal(10) ** (AMOUNT_DIGITS - AMOUNT_PLACES)

_CORE = re.compile(r"[.,]?[0-9](?:[0-9.,\s'’]*[0-9])?")
_EXPONENT = re.compile(r"[0-9.][eE][+\-]?[0-9]")
_PLAIN_POINT = re.compile(r"-?[0-9]{1,16}(?:\.[0-9]{1,12})?")
_PLAIN_COMMA = re.compile(r"-?[0-9]{1,16}(?:,[0-9]{1,12})?")
_GROUPED_POINT = re.compile(r"(-?)([0-9]{1,3}(?:,[0-9]{3})+)(\.[0-9]{1,12})?(-?)")
_GROUPED_COMMA = re.compile(r"(-?)([0-9]{1,3}(?:\.[0-9]{3})+)(,[0-9]{1,12})?(-?)")
_WESTERN = re.compile(r"[0-9]{1,3}(?:\|[0-9]{3})+")
_INDIAN = re.compile(r"[0-9]{1,2}(?:\|[0-9]{2})*\|[0-9]{3}")


class AmountError(ValueError):
    """The text is not a number in the configured format; ``str(exc)`` is the reason for a person."""


def parse_amount(text: str, *, decimal_comma: bool = False) -> Decimal | None:
    """Parse one amount cell. Returns ``None`` for a blank cell; raises ``AmountError``."""
    if (_PLAIN_COMMA if decimal_comma else _PLAIN_POINT).fullmatch(text):  # the common case, fast
        return Decimal(text.replace(",", ".") if decimal_comma else text)
    fast = (_GROUPED_COMMA if decimal_comma else _GROUPED_POINT).fullmatch(text)
    if fast and not (fast.group(1) and fast.group(4)):  # 1,234.56 / 1,234.56- / -1,234.56, also fast
        whole = fast.group(2).replace("." if decimal_comma else ",", "")
        fraction = (fast.group(3) or "")[1:]
        value = Decimal(f"{whole}.{fraction}" if fraction else whole)
        return -value if fast.group(1) or fast.group(4) else value
    s = text.strip().strip("\u00a0\u202f\u2009")
    if not s or (len(s) == 1 and s in MINUS_SIGNS):
        return None
    if s[0] in "=@":
        raise AmountError("a formula, not a number")
    if _EXPONENT.search(s):
        raise AmountError("exponent notation is ambiguous (the number may already be rounded); "
                          "export plain digits")
    core = _CORE.search(s)
    if core is None:
        raise AmountError("not a number")
    negative = _sign(s[:core.start()], s[core.end():])
    digits = _plain_digits(core.group(), decimal_comma=decimal_comma)
    value = Decimal(digits)
    return -value if negative else value


def _sign(prefix: str, suffix: str) -> bool:
    """Read the sign and currency around the digits; True when the amount is negative."""
    pre, post = _tokens(prefix, trailing=False), _tokens(suffix, trailing=True)
    tokens = pre + post
    currencies = [t for t in tokens if t not in ("-", "+", "(", ")")]
    if len(currencies) > 1:
        raise AmountError("more than one currency marker")
    opens, closes = tokens.count("("), tokens.count(")")
    if opens != closes or opens > 1 or (opens and ("(" not in pre or ")" not in post)):
        raise AmountError("unbalanced parentheses")
    signs = tokens.count("-") + tokens.count("+") + opens
    if signs > 1:
        raise AmountError("more than one sign")
    return opens == 1 or "-" in tokens


def _tokens(part: str, *, trailing: bool) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(part):
        ch = part[i]
        if ch.isspace():
            i += 1
        elif ch in MINUS_SIGNS:
            out.append("-")
            i += 1
        elif ch == "+" and not trailing:
            out.append("+")
            i += 1
        elif ch in "()" or ch in CURRENCY_SYMBOLS:
            out.append(ch)
            i += 1
        elif part[i:i + 3].upper() in ISO_4217 and part[i:i + 3].isalpha() and not part[i + 3:i + 4].isalpha():
            out.append(part[i:i + 3].upper())
            i += 3
        else:
            raise AmountError("not a number")
    return out


def _plain_digits(core: str, *, decimal_comma: bool) -> str:
    """``1.234,56`` (decimal comma) or ``1,234.56`` → ``1234.56``, checking the grouping."""
    decimal_sep, group_sep = (",", ".") if decimal_comma else (".", ",")
    if core.count(decimal_sep) > 1:
        raise AmountError(f"more than one decimal separator '{decimal_sep}'"
                          + ("" if decimal_comma else "; is the file using a decimal comma?"))
    whole, _, fraction = core.partition(decimal_sep)
    if any(c in fraction for c in group_sep + GROUP_SPACES) or any(c.isspace() for c in fraction):
        hint = "; is the file using a decimal comma?" if not decimal_comma else "; is the file using a decimal point?"
        raise AmountError(f"a group separator after the decimal separator '{decimal_sep}'{hint}")
    marked = whole
    for sep in group_sep + GROUP_SPACES:
        marked = marked.replace(sep, "|")
    marked = re.sub(r"\s", "|", marked)
    if "|" in marked and not (_WESTERN.fullmatch(marked) or _INDIAN.fullmatch(marked)):
        hint = "; is the file using a decimal comma?" if not decimal_comma and group_sep in whole else ""
        if decimal_comma and "." in whole:
            hint = "; is the file using a decimal point?"
        raise AmountError(f"digits are not grouped in thousands around '{group_sep}' or spaces{hint}")
    whole = marked.replace("|", "") or "0"
    return f"{whole}.{fraction}" if fraction else whole


def decimal_from_excel(value: float | int) -> Decimal:
    """An XLSX numeric cell (a binary double) to the decimal a person typed.

    ``repr`` gives the shortest decimal that round-trips, which is exactly what was typed for
    up to 15 significant digits; a computed value with 16-17 digits is rounded to 15, which is
    what Excel itself displays and keeps."""
    if isinstance(value, bool):
        raise AmountError("a TRUE/FALSE value, not a number")
    if isinstance(value, int):
        return Decimal(value)
    if not math.isfinite(value):
        raise AmountError("not a finite number")
    d = Decimal(repr(value))
    if len(d.as_tuple().digits) > EXCEL_DIGITS:
        d = d.quantize(Decimal(1).scaleb(d.adjusted() - EXCEL_DIGITS + 1))
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()


def check_amount_precision(value: Decimal) -> Decimal:
    """Refuse what the ledger cannot store exactly: more than 4 decimal places or 16 integer digits.
    Never rounds: a statutory number that needs rounding is a question for a person."""
    if not value.is_finite():
        raise AmountError("not a finite number")
    if abs(value) >= _AMOUNT_LIMIT:
        raise AmountError(f"too large (more than {AMOUNT_DIGITS - AMOUNT_PLACES} digits before the decimal point)")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -AMOUNT_PLACES:
        return value
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_PLACES:
        raise AmountError(f"more than {AMOUNT_PLACES} decimal places")
    return value
