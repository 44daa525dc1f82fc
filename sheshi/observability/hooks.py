"""The calls other apps make: count postings, enqueue jobs with the request id."""
from __future__ import annotations

from django.db import transaction

from sheshi.observability import metrics


def record_posting(lines: int, *, entries: int = 1, using: str = "default") -> None:
    """Count posted entries and lines for the posting-throughput metric. Inside a transaction the
    count is made on commit, so a rolled-back posting is never counted."""
    if lines < 0 or entries < 0:
        raise ValueError("lines and entries must not be negative")

    transaction.on_commit(lambda: metrics.postings_record(entries=entries, lines=lines), using=using)


def enqueue(func, *args, **kwargs) -> str:
    """`django_q.tasks.async_task` that carries the current request id into the job: the worker
    puts it in its log lines and in the database session's `sheshi.request_id`, so audit and
    history rows written by the job point back to the request. Enqueue on commit, as always:
    ``transaction.on_commit(lambda: enqueue("ledger.tasks.entry_posted_notify", entry.pk))``."""
    from django_q.tasks import async_task

    from sheshi.observability.jobs import connect_signals

    connect_signals()  # idempotent; normally done by the app's ready()
    return async_task(func, *args, **kwargs)
