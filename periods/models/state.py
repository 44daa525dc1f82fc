"""Per-entity period state: open → soft-closed → locked, and the snapshot a lock records."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from periods.models.calendar import Period
from sheshi.history import history
from sheshi.tenancy.models import Entity, Organisation


class PeriodState(models.TextChoices):
    OPEN = "open", "Open"
    SOFT_CLOSED = "soft_closed", "Soft-closed"
    LOCKED = "locked", "Locked"


class EntityPeriod(models.Model):
    """The state of one entity's period. Postings take a FOR SHARE lock on this row and a lock
    transition takes FOR NO KEY UPDATE (periods/locks.py), so a posting and a lock of the same period serialise."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="entity_periods")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="entity_periods")
    state = models.CharField(max_length=16, choices=PeriodState.choices, default=PeriodState.OPEN)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    changed_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    history = history()

    class Meta:
        ordering = ["entity_id", "period__start_date", "period__number"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "period"], name="entity_period_unique"),
            models.CheckConstraint(condition=models.Q(state__in=PeriodState.values), name="entity_period_state_valid"),
        ]

    def __str__(self) -> str:
        # Lists showing entity-periods select entity and period with them (list_select_related).
        return f"{self.entity.code} {self.period.code} ({self.get_state_display().lower()})"


class PeriodLockSnapshot(models.Model):
    """The trial balance of an entity-period at the moment it locked, and its SHA-256, so later
    reports can prove the locked figures never changed. Append-only."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    entity_period = models.ForeignKey(EntityPeriod, on_delete=models.PROTECT, related_name="snapshots")
    taken_at = models.DateTimeField(auto_now_add=True)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    trial_balance = models.JSONField()  # [[account_code, currency, amount, functional_net], ...] sorted
    line_count = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self) -> str:
        ep = self.entity_period
        taken = f" on {self.taken_at:%Y-%m-%d %H:%M}" if self.taken_at else ""
        return f"Lock of {ep.entity.code} {ep.period.code}{taken} ({self.line_count:,} lines, {self.sha256[:12]})"
