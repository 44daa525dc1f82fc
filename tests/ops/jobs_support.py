"""Job functions for the operations tests (importable by dotted path, as django-q2 needs)."""
from __future__ import annotations

from django.db import connection

from sheshi.request_context import request_id_var

SEEN: list[tuple[str, str]] = []


def remember_request_id() -> tuple[str, str]:
    """Record the request id the job sees in its log context and in its database session."""
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(current_setting('sheshi.request_id', true), '')")
        in_db = cur.fetchone()[0]
    SEEN.append((request_id_var.get(), in_db))
    return request_id_var.get(), in_db
