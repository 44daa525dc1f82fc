"""``manage.py recover_jobs``: enqueue again the import batches and consolidation runs that no
worker will finish (what the every-minute schedule does), and list them.

    manage.py recover_jobs            # needs a running qcluster to execute what it enqueues
"""
from __future__ import annotations

from django.core.management.base import BaseCommand

from sheshi.jobs.recovery import lost_jobs_recover


class Command(BaseCommand):
    help = "Re-enqueue import batches and consolidation runs left running past their timeout or never started."

    def handle(self, *args, **options):
        lost = lost_jobs_recover()
        for job in lost:
            self.stdout.write(f"{job.kind} {job.id}: {job.status} since {job.since.isoformat()} → re-enqueued")
        self.stdout.write(f"{len(lost)} lost job(s) re-enqueued")
