"""django-q2 jobs for large imports. Tasks take ids and are safe to run twice: the batch row is
locked and a batch that is no longer pending is left as it is (the ORM broker delivers at least once)."""
from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q
from django_q.tasks import async_task

from ledger.imports.models import ImportBatch, ImportStatus
from ledger.imports.services import import_batch_reap, import_batch_run
from sheshi.db.context import system_context
from sheshi.jobs.kinds import JobKind, RecoveredJob
from sheshi.jobs.timeouts import job_stale_after

PROGRESS_SAVE_EVERY = 50_000


def import_batch_run_task(batch_id: int) -> str:
    with system_context("import_job"):
        created_by = ImportBatch.objects.filter(pk=batch_id).values_list("created_by_id", flat=True).first()
        actor = get_user_model().objects.filter(pk=created_by).first() if created_by else None

        def progress(rows: int) -> None:
            # Outside the posting transaction only the validation pass is visible; the posting pass
            # reports on commit. A separate short UPDATE keeps the API's progress readable.
            if rows % PROGRESS_SAVE_EVERY == 0:
                ImportBatch.objects.filter(pk=batch_id).update(rows_done=rows)

        batch = import_batch_run(actor=actor, batch_id=batch_id, progress=progress)
        return batch.status


def import_batch_reap_task() -> int:
    """Hourly (sheshi/jobs schedule): batches running for over two hours go back to pending; the
    job recovery then enqueues them. A backstop only: the recovery restarts a lost batch itself
    once it is older than the job timeout."""
    with system_context("import_reap"):
        return import_batch_reap()


def _lost_import_batches(now: datetime) -> list[RecoveredJob]:
    cutoff = now - job_stale_after()
    rows = (ImportBatch.objects.filter(Q(status=ImportStatus.RUNNING, started_at__lt=cutoff)
                                       | Q(status=ImportStatus.PENDING, created_at__lt=cutoff))
            .order_by("pk").values_list("pk", "organisation_id", "status", "started_at", "created_at"))
    return [RecoveredJob("import_batch", pk, org, status, started if status == ImportStatus.RUNNING else created)
            for pk, org, status, started, created in rows]


def _import_batch_enqueue_recovered(batch_id: int) -> None:
    async_task("ledger.imports.tasks.import_batch_run_task", batch_id, task_name=f"import-{batch_id}-recovered")


# Registered by ledger/apps.py with the lost-job recovery (sheshi/jobs/recovery.py).
IMPORT_BATCH_JOB = JobKind("import_batch", "ledger.importbatch", _lost_import_batches, _import_batch_enqueue_recovered)
