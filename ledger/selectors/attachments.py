"""Reads of journal entries' supporting documents (issue 16): the admin's download and the API's
``GET /journal-entries/{id}/attachments/{attachment_id}/`` find the document the same way."""
from __future__ import annotations

import base64
from typing import IO

from django.core.files.storage import default_storage

from ledger.models import JournalEntryAttachment
from sheshi.access.roles import VIEW
from sheshi.tenancy.scoping import entity_ids_for


def journal_entry_attachment_get(user, *, entry_id: int, attachment_id: int) -> JournalEntryAttachment | None:
    """Attachment ``attachment_id`` of entry ``entry_id``, when ``user`` sees the entry's entity
    (None otherwise: an entry of another entity is not told apart from a missing one)."""
    return (JournalEntryAttachment.objects.select_related("entry")
            .filter(pk=attachment_id, entry_id=entry_id, entry__entity_id__in=entity_ids_for(user, VIEW)).first())


def attachment_file_open(attachment: JournalEntryAttachment) -> IO[bytes] | None:
    """The stored bytes, or None when the file is missing from the storage."""
    if not default_storage.exists(attachment.storage_name):
        return None
    return default_storage.open(attachment.storage_name, "rb")


def attachment_etag(attachment: JournalEntryAttachment) -> str:
    """A strong entity tag: the content's SHA-256 (the same bytes are the same representation)."""
    return f'"{attachment.sha256}"'


def attachment_repr_digest(attachment: JournalEntryAttachment) -> str:
    """The ``Repr-Digest`` field value (RFC 9530): ``sha-256=:<base64 of the digest>:``."""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(attachment.sha256)).decode()}:"
