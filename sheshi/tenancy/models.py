"""The tenant (Organisation), its legal entities and who belongs to it."""
from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from sheshi.history import history
from sheshi.money import CURRENCY_VALIDATOR

CODE_VALIDATOR = RegexValidator(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$", "Use 1-32 upper-case letters, digits, '_', '.' or '-'.")
COUNTRY_VALIDATOR = RegexValidator(r"^[A-Z]{2}$", "Use an ISO 3166-1 alpha-2 country code.")


class Organisation(models.Model):
    """The tenant. Every tenant-owned row carries organisation_id, and row-level security keys on it."""

    code = models.CharField(max_length=32, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    group_currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR], default="EUR")
    fiscal_year_start_month = models.PositiveSmallIntegerField(default=1)
    # Segregation of duties (issue #15.4), safe by default. PostgreSQL reads poster_not_preparer
    # too (ledger/sql/0020_poster_not_preparer.sql).
    # db_default too: a row written by raw SQL (tools, fixtures) gets the safe policy, not an error.
    poster_not_preparer = models.BooleanField(
        default=True, db_default=True,
        help_text="The user who posts an entry is not the one who prepared it (system postings and system sources "
                  "excepted).")
    reversal_needs_approval = models.BooleanField(
        default=True, db_default=True,
        help_text="A reversal is created submitted and goes through approval instead of posting at once.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = history()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                                   name="organisation_fy_start_month_valid"),
            models.CheckConstraint(condition=models.Q(group_currency__regex=r"^[A-Z]{3}$"),
                                   name="organisation_group_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class Entity(models.Model):
    """A legal entity keeping its books in one functional currency."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="entities")
    code = models.CharField(max_length=32, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    functional_currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    country = models.CharField(max_length=2, validators=[COUNTRY_VALIDATOR])
    is_active = models.BooleanField(default=True)
    # Which journal sources need a second person's approval before posting (segregation of duties).
    approval_required_sources = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = history()

    class Meta:
        ordering = ["organisation_id", "code"]
        verbose_name_plural = "entities"
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="entity_code_unique_in_org"),
            # Lets child tables reference (organisation_id, id) so a row can never point at another
            # organisation's entity.
            models.UniqueConstraint(fields=["organisation", "id"], name="entity_org_id_unique"),
            models.CheckConstraint(condition=models.Q(functional_currency__regex=r"^[A-Z]{3}$"),
                                   name="entity_functional_currency_iso"),
            models.CheckConstraint(condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="entity_country_iso"),
        ]
        permissions = [
            ("view_entity_data", "View the entity's ledger and reports"),
            ("prepare_entries", "Create and submit journal entries and imports"),
            ("approve_entries", "Approve and post journal entries"),
            ("close_periods", "Close, lock periods and run consolidations"),
            ("reopen_periods", "Reopen closed or locked periods"),
            ("audit_entity", "Read everything including the audit log"),
            ("manage_roles", "Grant and revoke roles on the entity"),
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class Membership(models.Model):
    """A user's membership of an organisation. Entity roles are guardian grants on top of it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    is_org_admin = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = history()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation.code}"


class EntityUserObjectPermission(UserObjectPermissionBase):
    """Direct-FK guardian grants on Entity (defined before the first grant: STACK pitfall 5)."""

    content_object = models.ForeignKey(Entity, on_delete=models.CASCADE)


class EntityGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Entity, on_delete=models.CASCADE)
