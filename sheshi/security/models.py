"""Sensitive entity details, encrypted at rest (sheshi/security/crypto.py)."""
from __future__ import annotations

from django.db import models

from sheshi.security.crypto import EncryptedTextField, mask
from sheshi.tenancy.models import Entity, Organisation


class EntityBankDetails(models.Model):
    """An entity's bank account and tax id. ``iban`` and ``tax_id`` are Fernet-encrypted; output
    (admin, API) shows them masked. A composite foreign key (migration 0001) ties the row to an
    entity of the same organisation, and row-level security scopes it to the caller's tenants."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="bank_details")
    label = models.CharField(max_length=64, default="main")
    bank_name = models.CharField(max_length=200, blank=True)
    bic = models.CharField(max_length=11, blank=True)
    iban = EncryptedTextField()
    tax_id = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "entity bank details"
        verbose_name_plural = "entity bank details"
        constraints = [models.UniqueConstraint(fields=["entity", "label"], name="bank_details_entity_label_unique")]

    def __str__(self) -> str:
        return f"{self.label} {mask(self.iban)}"

    @property
    def iban_masked(self) -> str:
        return mask(self.iban)

    @property
    def tax_id_masked(self) -> str:
        return mask(self.tax_id, visible=3)
