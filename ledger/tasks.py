"""django-q2 task of the daily recurring-entries schedule (migrations/0026_schedule_recurring_entries.py)."""
from __future__ import annotations

import logging

from django.utils import timezone

from ledger.selectors.recurring import recurring_periods
from ledger.services.recurring import GENERATED, SKIPPED, recurring_entries_generate
from sheshi.db.context import system_context

logger = logging.getLogger("sheshi.ledger")


def recurring_entries_generate_task() -> int:
    """Every day: the drafts due in each organisation's current period. Safe to run again (each
    recurrence generates once per period); returns how many drafts were generated."""
    generated = 0
    with system_context("recurring_entries"):
        for period in recurring_periods(today=timezone.localdate()):
            for outcome in recurring_entries_generate(period=period):
                generated += outcome.status == GENERATED
                if outcome.status == SKIPPED:
                    logger.info("recurring entry skipped: recurrence %s, %s: %s", outcome.recurrence_id,
                                period.code, outcome.reason)
    return generated
