"""A consolidation run is a record: the inputs' fingerprint, the results, who ran it and when."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from periods.models import Period
from sheshi.history import history
from sheshi.tenancy.models import Organisation


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


RUN_TRANSITIONS = {
    RunStatus.QUEUED: {RunStatus.RUNNING, RunStatus.FAILED},
    RunStatus.RUNNING: {RunStatus.SUCCEEDED, RunStatus.FAILED},
    RunStatus.SUCCEEDED: set(),
    RunStatus.FAILED: set(),
}


class ConsolidationRun(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey("consolidation.ConsolidationGroup", on_delete=models.PROTECT, related_name="runs")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    progress_note = models.CharField(max_length=200, blank=True, default="")
    fingerprint = models.CharField(max_length=64, blank=True, default="")
    fingerprint_sections = models.JSONField(default=dict, blank=True)
    changed_inputs = models.JSONField(default=list, blank=True)  # sections that differ from the previous run
    previous_run = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    results = models.JSONField(null=True, blank=True)
    ic_differences = models.JSONField(default=list, blank=True)
    error = models.JSONField(null=True, blank=True)
    # Each start (and each restart of a run whose worker died) increments the attempt; only the
    # attempt that started the run may move it on, so a late zombie worker cannot finish it.
    attempt = models.PositiveSmallIntegerField(default=0)
    # The elimination journals this run posted in the group's elimination ledger, and the reversals
    # it posted of the entries standing there before. ``posting_error`` says why it posted nothing
    # (e.g. the period is locked); the results are stored all the same.
    posted_entry_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    reversal_entry_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    posting_error = models.JSONField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    requested_label = models.CharField(max_length=200, blank=True, default="")
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # The results are immutable once written (trigger consolidation_run_finished_frozen): the
    # history keeps the run's state, fingerprint and posting without a second copy of them.
    history = history(excluded_fields=["results"])

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["group", "period", "status"], name="consolidation_run_lookup")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=RunStatus.values),
                                   name="consolidation_run_status_valid"),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="consolidation_run_progress_range"),
            models.CheckConstraint(
                condition=~models.Q(status=RunStatus.SUCCEEDED)
                | (models.Q(results__isnull=False) & ~models.Q(fingerprint="")),
                name="consolidation_run_success_has_results"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} {self.status}"
