"""Consolidation groups and their effective-dated holdings."""
from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.db import models

from sheshi.history import history
from sheshi.tenancy.models import CODE_VALIDATOR, Entity, Organisation


class ConsolidationMethod(models.TextChoices):
    FULL = "full", "Full consolidation"
    EQUITY = "equity", "Equity method"  # allowed by the model; the engine consolidates 'full' members only


ELIMINATION_LEDGER_SUFFIX = "-ELIM"


class ConsolidationGroup(models.Model):
    """A top parent and its subsidiaries, presented in the organisation's group currency.

    ``elimination_entity`` is the group's elimination ledger: a system entity of the organisation
    (code ``<GROUPCODE>-ELIM``, functional currency the group currency, created on demand by
    consolidation.services.runs.elimination_ledger_ensure) where successful runs post their elimination
    journals. An entity is an elimination ledger exactly when a group points at it here (the code is
    the naming rule, the link is the flag); PostgreSQL refuses to make it a member or a parent in any
    group, so it is never consolidated as one (trigger consolidation_elimination_ledger_not_member).
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="consolidation_groups")
    code = models.CharField(max_length=32, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    top_entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="+")
    elimination_entity = models.OneToOneField(Entity, null=True, blank=True, on_delete=models.PROTECT,
                                              related_name="elimination_ledger_of")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = history()

    class Meta:
        ordering = ["organisation_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="consolidation_group_code_unique"),
            models.CheckConstraint(condition=~models.Q(elimination_entity=models.F("top_entity")),
                                   name="consolidation_group_elimination_not_top"),
        ]

    def __str__(self) -> str:
        return self.code


class GroupMember(models.Model):
    """A holding: ``parent`` holds ``ownership_pct`` of ``entity`` over ``valid`` = [from, to)
    (open-ended upper bound: until further notice). A change in ownership closes one row and opens
    the next; PostgreSQL refuses overlapping holdings of the same entity in a group."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(ConsolidationGroup, on_delete=models.PROTECT, related_name="members")
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="group_memberships")
    parent = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ownership_pct = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    acquired_on = models.DateField(null=True, blank=True)
    method = models.CharField(max_length=8, choices=ConsolidationMethod.choices, default=ConsolidationMethod.FULL)
    valid = DateRangeField()
    created_at = models.DateTimeField(auto_now_add=True)
    history = history()

    class Meta:
        ordering = ["group_id", "entity_id", "valid"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(parent__isnull=True, ownership_pct__isnull=True))
                | (models.Q(parent__isnull=False, ownership_pct__gt=0, ownership_pct__lte=100,
                            acquired_on__isnull=False)),
                name="group_member_ownership_valid"),
            models.CheckConstraint(condition=~models.Q(parent=models.F("entity")), name="group_member_not_own_parent"),
            models.CheckConstraint(condition=models.Q(method__in=ConsolidationMethod.values),
                                   name="group_member_method_valid"),
            ExclusionConstraint(
                name="group_member_no_overlap",
                expressions=[("group", RangeOperators.EQUAL), ("entity", RangeOperators.EQUAL),
                             ("valid", RangeOperators.OVERLAPS)]),
        ]

    def __str__(self) -> str:
        return f"{self.group_id}:{self.entity_id} {self.ownership_pct}% {self.valid}"
