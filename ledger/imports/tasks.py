"""django-q2 jobs for large imports. Tasks take ids and are safe to run twice: the batch row is
locked and a batch that is no longer pending is left as it is (the ORM broker delivers at least once)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from ledger.imports.models import ImportBatch
from sheshi.db.context import system_context

PROGRESS_SAVE_EVERY = 50_000


def import_batch_enqueue(batch: ImportBatch) -> None:
    """Queue the run after the batch row is committed (never before: the worker could not see it)."""
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task("ledger.imports.tasks.import_batch_run_task", batch.pk,
                                             task_name=f"import-{batch.pk}"))


def import_batch_run_task(batch_id: int) -> str:
    from ledger.imports.services import import_batch_run

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
    from ledger.imports.services import import_batch_reap

    with system_context("import_reap"):
        return import_batch_reap()
