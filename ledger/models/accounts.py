"""The group chart of accounts (per organisation) and entities' local-chart mappings."""
from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.db import models

from sheshi.history import history
from sheshi.tenancy.models import CODE_VALIDATOR, Entity, Organisation


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    REVENUE = "revenue", "Revenue"
    EXPENSE = "expense", "Expense"


class NormalBalance(models.TextChoices):
    DEBIT = "debit", "Debit"
    CREDIT = "credit", "Credit"


class AccountKind(models.TextChoices):
    GROUP = "group", "Group (roll-up only)"
    POSTING = "posting", "Posting (leaf)"


class AccountRole(models.TextChoices):
    """What consolidation needs to know about an account."""

    NONE = "", "—"
    INVESTMENT = "investment", "Investment in subsidiary"
    GOODWILL = "goodwill", "Goodwill"
    SHARE_CAPITAL = "share_capital", "Share capital"
    RETAINED_EARNINGS = "retained_earnings", "Retained earnings"
    DIVIDENDS = "dividends", "Dividends declared"
    CTA = "cta", "Cumulative translation adjustment"
    NCI = "nci", "Non-controlling interest"
    NCI_PROFIT = "nci_profit", "Profit attributable to NCI"


class Account(models.Model):
    """A node of the group chart. Only POSTING accounts take lines; GROUP accounts roll up.

    Balances are kept per posting account, so moving an account in the tree changes only how
    reports roll it up, never a stored figure; locked-period snapshots keep the codes they saw."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="accounts")
    code = models.CharField(max_length=32, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    kind = models.CharField(max_length=8, choices=AccountKind.choices, default=AccountKind.POSTING)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    normal_balance = models.CharField(max_length=6, choices=NormalBalance.choices)
    is_intercompany = models.BooleanField(default=False)
    role = models.CharField(max_length=20, choices=AccountRole.choices, default="", blank=True)
    ic_pair = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = history()

    class Meta:
        ordering = ["organisation_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="account_code_unique_in_org"),
            models.UniqueConstraint(fields=["organisation", "id"], name="account_org_id_unique"),
            models.CheckConstraint(condition=models.Q(type__in=AccountType.values), name="account_type_valid"),
            models.CheckConstraint(condition=models.Q(kind__in=AccountKind.values), name="account_kind_valid"),
            models.CheckConstraint(condition=~models.Q(parent=models.F("id")), name="account_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class LocalAccountMapping(models.Model):
    """An entity's local account code → a group posting account, valid over a date range."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="account_mappings")
    local_code = models.CharField(max_length=64)
    local_name = models.CharField(max_length=200, blank=True, default="")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="local_mappings")
    valid = DateRangeField()  # [from, to) — open-ended upper bound means "until further notice"
    history = history()

    class Meta:
        constraints = [
            ExclusionConstraint(
                name="local_mapping_no_overlap",
                expressions=[("entity", RangeOperators.EQUAL), ("local_code", RangeOperators.EQUAL),
                             ("valid", RangeOperators.OVERLAPS)],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_id}:{self.local_code} → {self.account_id}"
