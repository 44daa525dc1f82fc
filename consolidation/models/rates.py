"""FX rates per organisation. A rate dated in a period a consolidation group has locked cannot be
added, changed or removed (trigger consolidation_fx_rate_frozen), so a locked run stays reproducible."""
from __future__ import annotations

from django.db import models

from sheshi.history import history
from sheshi.money import CURRENCY_VALIDATOR, rate_field
from sheshi.tenancy.models import Organisation


class FxRateType(models.TextChoices):
    CLOSING = "closing", "Closing"
    AVERAGE = "average", "Average"
    HISTORICAL = "historical", "Historical"


class FxRate(models.Model):
    """``rate`` units of ``to_currency`` per one ``from_currency`` on ``rate_date`` (closing and
    average rates are dated on the last day of their period)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    from_currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    to_currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    rate_type = models.CharField(max_length=10, choices=FxRateType.choices)
    rate_date = models.DateField()
    rate = rate_field()
    source = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = history()

    class Meta:
        ordering = ["organisation_id", "rate_date", "from_currency", "to_currency", "rate_type"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "from_currency", "to_currency", "rate_type", "rate_date"],
                                    name="fx_rate_unique"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fx_rate_positive"),
            models.CheckConstraint(condition=~models.Q(from_currency=models.F("to_currency")),
                                   name="fx_rate_two_currencies"),
            models.CheckConstraint(condition=models.Q(rate_type__in=FxRateType.values), name="fx_rate_type_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.from_currency}->{self.to_currency} {self.rate_type} {self.rate_date}: {self.rate}"
