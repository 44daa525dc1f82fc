"""Acquisition facts and consolidation adjustments of a group, in the issue's three kinds."""
from __future__ import annotations

from django.db import models

from ledger.models import Account
from periods.models import Period
from sheshi.history import history
from sheshi.money import amount_field
from sheshi.tenancy.models import Entity, Organisation


class AdjustmentKind(models.TextChoices):
    NET_ASSETS = "net_assets_at_acquisition", "Net assets at acquisition"
    PRE_ACQUISITION_PL = "pre_acquisition_pl", "Pre-acquisition profit or loss"
    UNREALISED_PROFIT = "unrealised_profit", "Unrealised profit in inventory"


class AcquisitionAdjustment(models.Model):
    """Net assets at acquisition and pre-acquisition P&L belong to a member (per account, in its
    functional currency, on AdjustmentLine rows). Unrealised profit belongs to a period: seller
    ``entity``, ``buyer``, ``amount`` in the group currency, and the inventory/cost-of-sales accounts."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey("consolidation.ConsolidationGroup", on_delete=models.PROTECT,
                              related_name="adjustments")
    kind = models.CharField(max_length=32, choices=AdjustmentKind.choices)
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(Period, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = amount_field(null=True, blank=True)
    inventory_account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cogs_account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = history()

    class Meta:
        ordering = ["group_id", "kind", "entity_id", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=AdjustmentKind.values), name="adjustment_kind_valid"),
            models.CheckConstraint(
                condition=~models.Q(kind=AdjustmentKind.UNREALISED_PROFIT)
                | models.Q(period__isnull=False, buyer__isnull=False, amount__gte=0,
                           inventory_account__isnull=False, cogs_account__isnull=False),
                name="adjustment_unrealised_profit_complete"),
            models.UniqueConstraint(fields=["group", "entity"], condition=models.Q(kind=AdjustmentKind.NET_ASSETS),
                                    name="adjustment_net_assets_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.entity_id}"


class AdjustmentLine(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    adjustment = models.ForeignKey(AcquisitionAdjustment, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    amount = amount_field()  # functional currency of the adjustment's entity, debit positive

    class Meta:
        ordering = ["adjustment_id", "id"]

    def __str__(self) -> str:
        return f"{self.adjustment_id} {self.account_id} {self.amount}"
