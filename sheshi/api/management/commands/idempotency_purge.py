"""``manage.py idempotency_purge``: delete the Idempotency-Key records older than
SHESHI_IDEMPOTENCY_RETENTION_HOURS (what the hourly schedule does), and say how many."""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from sheshi.api.idempotency import idempotency_records_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than SHESHI_IDEMPOTENCY_RETENTION_HOURS."

    def handle(self, *args, **options):
        deleted = idempotency_records_purge()
        self.stdout.write(f"{deleted} Idempotency-Key record(s) older than "
                          f"{settings.SHESHI_IDEMPOTENCY_RETENTION_HOURS} h deleted")
