"""A batch of journal entries posted through POST /api/v1/journal-entries/batch/ (the bulk path).

The row is written in the batch's own transaction, first, so a concurrent request with the same
Idempotency-Key waits on the unique index and then finds it; it keeps what a replay answers."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from sheshi.tenancy.models import Entity, Organisation


class JournalEntryBatch(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    request_hash = models.CharField(max_length=64)
    entry_count = models.IntegerField(default=0)
    line_count = models.IntegerField(default=0)
    # The posted entries' ids in request order, as [first, last] runs of consecutive ids.
    entry_id_runs = models.JSONField(default=list)

    class Meta:
        app_label = "ledger"
        ordering = ["-created_at", "-id"]
        constraints = [
            # Scoped as the single create endpoint's key (ledger_journalentry.entry_idempotency_key_unique).
            models.UniqueConstraint(fields=["organisation", "created_by", "idempotency_key"],
                                    condition=models.Q(idempotency_key__isnull=False),
                                    name="entry_batch_idempotency_key_unique"),
            models.CheckConstraint(condition=models.Q(entry_count__gte=0, line_count__gte=0),
                                   name="entry_batch_counts_non_negative"),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.entry_count} entries)"

    def entry_ids(self) -> list[int]:
        return [i for first, last in self.entry_id_runs for i in range(first, last + 1)]
