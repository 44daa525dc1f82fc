"""Recurring journal entries (issue 16): a monthly schedule on a journal template, and the record
of each period it was run for. The run's unique key (organisation, recurrence, period) is what
makes generation idempotent: a second run, or a concurrent one, cannot write a second row."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from ledger.models.templates import JournalTemplate
from periods.models import Period
from sheshi.tenancy.models import Entity, Organisation


class RecurrenceFrequency(models.TextChoices):
    MONTHLY = "monthly", "Monthly"


class JournalRecurrence(models.Model):
    """Draft the template's entry in every period from ``start_period`` to ``end_period`` (open
    ended without one), dated ``day_of_month`` (clamped to the period's last day) or, without
    one, the period's last day. The drafts are ``owner``'s, so someone else approves them."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(JournalTemplate, on_delete=models.PROTECT, related_name="recurrences")
    frequency = models.CharField(max_length=10, choices=RecurrenceFrequency.choices,
                                 default=RecurrenceFrequency.MONTHLY)
    day_of_month = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: the last day.")
    start_period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    end_period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Stopped (journal_recurrence_stop): who, when and why; the end period or is_active says from when.
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                                   blank=True)
    stop_reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["entity_id", "template_id", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(frequency__in=RecurrenceFrequency.values),
                                   name="recurrence_frequency_valid"),
            models.CheckConstraint(condition=models.Q(day_of_month__isnull=True)
                                   | models.Q(day_of_month__gte=1, day_of_month__lte=31),
                                   name="recurrence_day_of_month_valid"),
            models.CheckConstraint(condition=models.Q(stopped_at__isnull=True)
                                   | (models.Q(stopped_by__isnull=False) & models.Q(stop_reason__regex=r"\S")),
                                   name="recurrence_stop_has_reason"),
        ]

    def __str__(self) -> str:
        day = "last day" if self.day_of_month is None else f"day {self.day_of_month}"
        return f"{self.template} ({self.get_frequency_display().lower()}, {day})"


class RecurrenceRunStatus(models.TextChoices):
    GENERATED = "generated", "Generated"
    SKIPPED = "skipped", "Skipped"


class JournalRecurrenceRun(models.Model):
    """One per recurrence and period: the draft generated, or why none was (period locked or
    soft-closed, owner no longer preparing, template refused). A skipped run becomes generated
    when a later run succeeds; a generated one never changes."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    recurrence = models.ForeignKey(JournalRecurrence, on_delete=models.PROTECT, related_name="runs")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=RecurrenceRunStatus.choices)
    entry_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_id", "recurrence_id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "recurrence", "period"], name="recurrence_run_once"),
            models.CheckConstraint(
                condition=models.Q(status=RecurrenceRunStatus.GENERATED, entry_id__isnull=False)
                | models.Q(status=RecurrenceRunStatus.SKIPPED, entry_id__isnull=True),
                name="recurrence_run_generated_has_entry"),
        ]

    def __str__(self) -> str:
        return f"{self.recurrence_id} in {self.period_id}: {self.get_status_display()}"
