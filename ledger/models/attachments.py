"""Supporting documents and comments on journal entries (issue 16). Both are evidence of how an
entry came to be: rows are added, never changed or removed (ledger/sql/0023_entry_records.sql)."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from ledger.models.journals import JournalEntry
from sheshi.stored_documents import StoredDocument
from sheshi.tenancy.models import Organisation


class JournalEntryAttachment(StoredDocument):
    """A document stored by its SHA-256 (sheshi/storage.py); the audit event names the hash."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="attachments")

    class Meta:
        ordering = ["entry_id", "uploaded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "sha256"], name="entry_attachment_once"),
            models.CheckConstraint(condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"),
                                   name="entry_attachment_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.sha256[:12]}…)"


class JournalEntryComment(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="comments")
    body = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entry_id", "created_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(body__regex=r"\S"), name="entry_comment_not_blank")]

    def __str__(self) -> str:
        return f"JE{self.entry_id} comment {self.pk}"
