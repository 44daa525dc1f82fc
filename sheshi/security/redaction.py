"""Nothing secret in the logs: a logging filter that redacts credentials wherever they appear —
in the message, its arguments, ``extra`` fields and exception text.

It redacts API tokens (``shs_<prefix>_<secret>`` keeps the public prefix), Authorization header
values, passwords, cookies and the like in ``key=value`` / ``"key": "value"`` form, Fernet tokens
(encrypted field values) and mapping values under sensitive keys.
"""
from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping

REDACTED = "[REDACTED]"
SENSITIVE_KEYS = re.compile(
    r"pass(word|wd)?|secret|token|authori[sz]ation|api[_-]?key|cookie|session|csrf|otp|iban|tax[_-]?id|"
    r"private[_-]?key|field[_-]?keys",
    re.I,
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Sheshi API tokens: keep the (non-secret) prefix so a token can still be identified.
    (re.compile(r"\b(shs_[A-Za-z0-9]{1,16})_[A-Za-z0-9_\-]{8,}"), r"\1_" + REDACTED),
    # Authorization: Bearer/Basic/Token <credential>
    (re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)(bearer|basic|token)?\s*[^\s\"',;}]+"),
     r"\1\2 " + REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 " + REDACTED),
    # key=value, key: value, "key": "value" for sensitive keys
    (re.compile(r"(?i)([\"']?\b[\w-]*(?:pass(?:word|wd)?|secret|api[_-]?key|token|sessionid|csrftoken|otp_token)"
                r"[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;}]+)"), r"\1" + REDACTED),
    # Fernet tokens (encrypted column values)
    (re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}"), REDACTED),
    # Connection URLs with a password: postgres://user:pw@host
    (re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/\s@]+:)[^@\s]+@"), r"\1" + REDACTED + "@"),
]


def redact_text(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def redact_value(value, depth: int = 0):
    if depth > 4:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: (REDACTED if isinstance(k, str) and SENSITIVE_KEYS.search(k) else redact_value(v, depth + 1))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v, depth + 1) for v in value)
    if isinstance(value, (int, float, bool, type(None))):
        return value
    return redact_text(str(value))


_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class RedactSecretsFilter(logging.Filter):
    """Attach to handlers (LOGGING in settings/base.py): every record passes through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not hide the record
            message = str(record.msg)
        record.msg, record.args = redact_text(message), None
        for key, value in list(vars(record).items()):
            if key in _RESERVED:
                continue
            setattr(record, key, REDACTED if SENSITIVE_KEYS.search(key) else redact_value(value))
        if record.exc_info and record.exc_info[0] is not None:
            # Exception messages can carry credentials (a DSN, a header): format once, redacted.
            record.exc = redact_text("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info, record.exc_text = None, None
        return True
