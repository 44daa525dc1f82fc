"""Journal templates (issue 16): an entry's lines kept under a name, to start new drafts from."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from sheshi.tenancy.models import Entity, Organisation


class JournalTemplate(models.Model):
    """``lines``: the lines as the entry input takes them — account_id, amount (a decimal
    string, signed), currency, rate, counterparty_id, dimensions, memo."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="journal_templates")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500)
    reference = models.CharField(max_length=100, blank=True, default="")
    lines = models.JSONField()
    source_entry_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entity_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "name"], name="journal_template_name_unique"),
            models.CheckConstraint(condition=models.Q(name__regex=r"\S"), name="journal_template_named"),
        ]

    def __str__(self) -> str:
        return self.name
