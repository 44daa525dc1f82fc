"""A consolidation group's lock of a period, allowed only once every member entity is locked."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from periods.models.calendar import Period
from sheshi.history import history
from sheshi.tenancy.models import Organisation


class GroupPeriodLock(models.Model):
    """``group_key`` names the group in the consolidation app's terms; ``entity_ids`` are the
    members whose entity-periods were locked when the group locked. While this row exists, a
    member's period cannot be reopened (a PostgreSQL trigger refuses it)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    group_key = models.CharField(max_length=64)
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="group_locks")
    entity_ids = ArrayField(models.BigIntegerField())
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    locked_at = models.DateTimeField(auto_now_add=True)
    history = history()

    class Meta:
        ordering = ["organisation_id", "group_key", "period_id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "group_key", "period"], name="group_period_lock_unique"),
            models.CheckConstraint(condition=models.Q(entity_ids__len__gt=0), name="group_period_lock_has_members"),
        ]

    def __str__(self) -> str:
        return f"{self.group_key} {self.period_id}"
