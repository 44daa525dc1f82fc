"""The fields every content-addressed supporting document has (journal attachments, reconciliation
evidence): who uploaded which bytes, by SHA-256, for which organisation. Concrete models add the row
they document and their own constraints; the tables stay append-only by their apps' rules."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from sheshi.tenancy.models import Organisation


class StoredDocument(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=200)
    file_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=100, blank=True, default="")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
