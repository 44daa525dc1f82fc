"""django-q2 task of the API's upkeep schedule (migrations/0003_schedule_idempotency_purge.py)."""
from __future__ import annotations

from sheshi.api.idempotency import idempotency_records_purge


def idempotency_records_purge_task() -> int:
    """Every hour: forget Idempotency-Key records past their retention."""
    return idempotency_records_purge()
