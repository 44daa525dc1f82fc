"""The intercompany worklist: each difference a run found between two members' balances, kept per
group, period and pair across re-runs, with who works on it, why it differs and what became of it.

A pair is (entity, account) against (counterparty, counterparty account); its row is created by the
first successful run that reports it and refreshed by every later one (``run``: the latest). Its
status moves open -> explained -> resolved (or straight to resolved); an explanation is required
for both. A later run that reports a different amount reopens it; one that no longer reports the
pair resolves it (consolidation.services.runs.ic_worklist_sync).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

from ledger.models import Account
from periods.models import Period
from sheshi.history import history
from sheshi.money import amount_field
from sheshi.tenancy.models import Entity, Organisation


class IcStatus(models.TextChoices):
    OPEN = "open", "Open"
    EXPLAINED = "explained", "Explained"
    RESOLVED = "resolved", "Resolved"


class IcDifference(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey("consolidation.ConsolidationGroup", on_delete=models.PROTECT,
                              related_name="ic_differences")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey("consolidation.ConsolidationRun", on_delete=models.PROTECT, related_name="ic_items")
    first_run = models.ForeignKey("consolidation.ConsolidationRun", on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    counterparty = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="+")
    counterparty_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    # Group currency, as the run translated them; difference = entity_amount + counterparty_amount.
    entity_amount = amount_field()
    counterparty_amount = amount_field()
    difference = amount_field()
    eliminated = amount_field()
    status = models.CharField(max_length=10, choices=IcStatus.choices, default=IcStatus.OPEN)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    explanation = models.TextField(blank=True, default="")  # why it differs (needed from 'explained' on)
    resolution = models.TextField(blank=True, default="")  # how it was settled (needed for 'resolved')
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = history()

    class Meta:
        ordering = ["group_id", "period_id", "entity_id", "account_id", "counterparty_id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "period", "entity", "account", "counterparty"],
                                    name="ic_difference_pair_unique"),
            models.CheckConstraint(condition=models.Q(status__in=IcStatus.values), name="ic_difference_status_valid"),
            models.CheckConstraint(
                condition=models.Q(status=IcStatus.OPEN)
                | models.Q(status=IcStatus.EXPLAINED, explanation__regex=r"\S")
                | models.Q(status=IcStatus.RESOLVED, resolution__regex=r"\S"),
                name="ic_difference_status_has_text"),
            models.CheckConstraint(
                condition=models.Q(difference=models.F("entity_amount") + models.F("counterparty_amount")),
                name="ic_difference_is_the_sum"),
        ]
        indexes = [models.Index(fields=["group", "period", "status"], name="ic_difference_worklist")]

    def __str__(self) -> str:
        return f"IC {self.entity_id}:{self.account_id}/{self.counterparty_id} {self.difference} {self.status}"


class IcComment(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    difference = models.ForeignKey(IcDifference, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["difference_id", "created_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(text__regex=r"\S"), name="ic_comment_not_blank")]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.difference_id}"
