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


def record_execution(key: int) -> int:
    """Scale-out test job: write one row per execution (not per key), so a job that ran twice
    shows up as two rows; the process id shows which cluster's worker ran it."""
    import os

    with connection.cursor() as cur:
        cur.execute("INSERT INTO ops_job_runs (key, pid) VALUES (%s, %s)", [key, os.getpid()])
    return key
