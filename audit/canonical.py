"""The canonical serialisation of an audit event, reproduced in Python for verification.

PostgreSQL computes ``content_hash`` as sha256 over ``audit_canonical(...)`` (audit/sql/0002_core.sql),
which is the jsonb text output of an object holding the event's fields. This module produces the
same bytes from the values, so the verifier does not trust the database to re-serialise anything:

* objects: keys ordered as jsonb stores them — shorter keys first, then by their UTF-8 bytes;
  ``{"k": v, "k2": v2}`` with ", " and ": " separators; arrays ``[a, b]``; empty ``{}`` / ``[]``;
* strings: ``"`` and ``\\`` escaped, \\b \\f \\n \\r \\t, other control characters as ``\\u00XX``
  (lower-case hex), everything else verbatim UTF-8;
* numbers: as PostgreSQL's numeric prints them — plain digits, never an exponent, the scale kept
  (``1.50`` stays ``1.50``); JSON text is therefore parsed with ``parse_float=Decimal``;
* the time as integer microseconds since the Unix epoch.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
GENESIS_HASH = "0" * 64
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _number(n: int | Decimal) -> str:
    if isinstance(n, bool):
        raise TypeError("bool is not a number here")
    if isinstance(n, int):
        return str(n)
    if not n.is_finite():
        raise ValueError("jsonb has no NaN or infinity")
    if n.is_zero():
        n = n.copy_abs()
    return format(n, "f")


def _key_order(key: str) -> tuple[int, bytes]:
    raw = key.encode("utf-8")
    return (len(raw), raw)


def canonical_json(value: Any) -> str:
    """``value`` as PostgreSQL's ``jsonb::text`` prints it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int | Decimal):
        return _number(value)
    if isinstance(value, float):
        raise TypeError("floats are not canonical: parse JSON with parse_float=Decimal")
    if isinstance(value, dict):
        if not value:
            return "{}"
        keys = sorted(value, key=_key_order)
        return "{" + ", ".join(f"{_string(k)}: {canonical_json(value[k])}" for k in keys) + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[" + ", ".join(canonical_json(v) for v in value) + "]"
    raise TypeError(f"cannot serialise {type(value).__name__}")


def parse_json(text: str | None) -> Any:
    """JSON text (as the database returns jsonb) with exact numbers."""
    if text is None:
        return None
    return json.loads(text, parse_float=Decimal)


def epoch_us(moment: dt.datetime) -> int:
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def event_canonical(*, organisation_id: int, occurred_at: dt.datetime, txid: int, actor_id: int | None,
                    actor_label: str | None, request_id: str | None, client_addr: str | None, action: str,
                    object_type: str, object_id: str | None, changes: Any) -> str:
    return canonical_json({
        "v": 1, "organisation_id": organisation_id, "occurred_at_us": epoch_us(occurred_at), "txid": txid,
        "actor_id": actor_id, "actor_label": actor_label, "request_id": request_id, "client_addr": client_addr,
        "action": action, "object_type": object_type, "object_id": object_id, "changes": changes,
    })


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_content_hash(**fields: Any) -> str:
    return sha256_hex(event_canonical(**fields))


def link_hash(content_hash: str, prev_hash: str) -> str:
    """A chain link: sha256 over the event's content hash followed by the previous link's hash."""
    return sha256_hex(content_hash + prev_hash)


def rows_digest(row_binaries: list[bytes] | Any) -> str:
    """Digest of a bulk statement's rows (summary events): sha256 over the concatenated sha256 of
    each row's PostgreSQL binary form (``record_send(row)``), in id order."""
    outer = hashlib.sha256()
    for raw in row_binaries:
        outer.update(hashlib.sha256(bytes(raw)).digest())
    return outer.hexdigest()
