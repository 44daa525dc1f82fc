"""Import lineage: the source systems (with their saved column mapping) and one batch per file.

Registered in the ledger app (``app_label = "ledger"``) through ``ledger/models/__init__.py``.
Journal entries and lines point back with ``import_batch_id`` and lines with ``source_row`` /
``source_raw`` (the lead's ledger models), so every imported figure reaches its file row.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

from ledger.imports.mapping import ImportKind
from periods.models import Period
from sheshi.money import amount_field
from sheshi.tenancy.models import Entity, Organisation


class SourceSystem(models.Model):
    """An ERP an organisation imports from, with the column mapping its files use."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=[(k.value, k.value) for k in ImportKind])
    mapping = models.JSONField()  # ColumnMapping.as_dict()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "ledger"
        ordering = ["organisation_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code", "kind"], name="source_system_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.kind})"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # stored, waiting for validation and posting (a job may run it)
    RUNNING = "running", "Running"
    REJECTED = "rejected", "Rejected"  # validation found problems; nothing was posted
    FAILED = "failed", "Failed"  # the ledger refused the posting; nothing was posted
    POSTED = "posted", "Posted"
    SUPERSEDED = "superseded", "Superseded"  # posted, then reversed by a corrected file


# The statuses in which a file counts as imported: the same content cannot be imported again.
ACTIVE_STATUSES = (ImportStatus.PENDING, ImportStatus.RUNNING, ImportStatus.POSTED)


class ImportBatch(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="import_batches")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="import_batches")
    source_system = models.ForeignKey(SourceSystem, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="batches")
    kind = models.CharField(max_length=16, choices=[(k.value, k.value) for k in ImportKind])
    mapping = models.JSONField()  # the mapping used, frozen (the source system's may change later)
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500)  # storage name, content-addressed by sha256
    sha256 = models.CharField(max_length=64)
    # SHA-256 of the rows as read (cells as text, from the header row on, blank rows skipped): the
    # same rows from a file whose bytes differ (CRLF for LF, a BOM, another delimiter or encoding).
    # Set when the batch posts; empty until then.
    rows_sha256 = models.CharField(max_length=64, blank=True, default="", db_default="")
    # Why a file with the same rows as an active batch was imported anyway (empty: it was not allowed to be).
    duplicate_rows_reason = models.CharField(max_length=500, blank=True, default="", db_default="")
    size = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    row_count = models.BigIntegerField(default=0)
    rows_done = models.BigIntegerField(default=0)  # progress of a running job
    entry_count = models.BigIntegerField(default=0)
    line_count = models.BigIntegerField(default=0)
    debit_total = amount_field(default=0)  # functional currency
    credit_total = amount_field(default=0)
    error_count = models.BigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # the first problems, as the API renders them
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="superseded_by")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "ledger"
        verbose_name_plural = "import batches"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=ImportStatus.values), name="import_status_valid"),
            models.CheckConstraint(condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="import_sha256_hex"),
            # The same file imported twice is refused by the database, not by a check-then-act.
            models.UniqueConstraint(fields=["entity", "sha256"], condition=models.Q(status__in=ACTIVE_STATUSES),
                                    name="import_same_file_once"),
            models.CheckConstraint(condition=~models.Q(supersedes=models.F("id")), name="import_not_own_supersede"),
            # The same rows posted twice (a file re-saved with other line endings) are refused by the
            # database too, unless a person gave the reason for importing them again.
            models.UniqueConstraint(fields=["entity", "rows_sha256"],
                                    condition=models.Q(status__in=ACTIVE_STATUSES) & ~models.Q(rows_sha256="")
                                    & models.Q(duplicate_rows_reason=""), name="import_same_rows_once"),
        ]
        indexes = [models.Index(fields=["entity", "period", "status"], name="import_entity_period_status")]

    def __str__(self) -> str:
        return f"import {self.pk} {self.file_name} ({self.status})"
