"""Supporting documents and comments on journal entries (issue 16).

Both are added, never changed (ledger/sql/0023_entry_records.sql), by people who prepare or
approve the entity's entries, on an entry of any status: a document often arrives after posting.
The tables carry the audit trigger; attaching also records an explicit event naming the
document's SHA-256, in the same transaction. Documents are stored by content (sheshi/storage.py)."""
from __future__ import annotations

from django.db import transaction

from audit.services.events import audit_event_record
from ledger.errors import AttachmentDuplicateError
from ledger.models import JournalEntry, JournalEntryAttachment, JournalEntryComment
from sheshi.access.checks import has_entity_perm, require_entity_perm
from sheshi.access.roles import APPROVE, PREPARE
from sheshi.errors import FieldError, NotFound, ValidationFailed
from sheshi.storage import content_addressed_store

ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
ATTACHMENT_PREFIX = "journal-attachments/sha256"
COMMENT_MAX_CHARS = 5000


def _entry_for_record(actor, entry_id: int) -> JournalEntry:
    """The entry, after checking the actor prepares or approves for its entity. Not row-locked:
    the record's foreign key holds the entry (KEY SHARE) until commit, and a record may be added
    whatever the entry's status, so a concurrent transition changes nothing here."""
    entry = JournalEntry.objects.select_related("entity").filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"Journal entry {entry_id} not found.")
    if actor is not None and not actor.is_superuser and not (
            has_entity_perm(actor, PREPARE, entry.entity) or has_entity_perm(actor, APPROVE, entry.entity)):
        require_entity_perm(actor, PREPARE, entry.entity)  # raises, naming the permission to ask for
    return entry


@transaction.atomic
def journal_entry_attachment_add(*, actor, entry_id: int, upload) -> JournalEntryAttachment:
    """Attach a supporting document (an invoice, a calculation). ``upload``: a Django File or
    UploadedFile with a name. The same bytes twice on one entry are refused."""
    size = getattr(upload, "size", None)
    if not size:
        raise ValidationFailed("The file is empty.", errors=[FieldError("file", "Empty.", code="empty")])
    if size > ATTACHMENT_MAX_BYTES:
        raise ValidationFailed("The file is too large.", errors=[FieldError(
            "file", f"At most {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB.", code="too_large", value=size)])
    entry = _entry_for_record(actor, entry_id)
    name = (getattr(upload, "name", "") or "document").replace("\\", "/").rsplit("/", 1)[-1][:255]
    sha, storage_name, size = content_addressed_store(upload, prefix=ATTACHMENT_PREFIX)
    if entry.attachments.filter(sha256=sha).exists():
        raise AttachmentDuplicateError(f"This document is already attached to entry {entry.pk}.", errors=[FieldError(
            "file", f"Already attached (SHA-256 {sha[:12]}…).", code="duplicate", value=name)])
    attachment = JournalEntryAttachment.objects.create(
        organisation_id=entry.organisation_id, entry=entry, sha256=sha, storage_name=storage_name, file_name=name,
        size=size, content_type=(getattr(upload, "content_type", "") or "")[:100], uploaded_by=actor)
    audit_event_record(organisation_id=entry.organisation_id, action="journal_entry.attachment_added",
                       object_type="ledger.journalentry", object_id=entry.pk,
                       changes={"sha256": sha, "file_name": name, "size": size, "storage_name": storage_name,
                                "attachment_id": attachment.pk})
    return attachment


@transaction.atomic
def journal_entry_comment_add(*, actor, entry_id: int, body: str) -> JournalEntryComment:
    """Add a comment to an entry (a question, an answer, an approver's note). Comments are
    never edited: a correction is another comment."""
    body = (body or "").strip()
    if not body or len(body) > COMMENT_MAX_CHARS:
        raise ValidationFailed("Write a comment.", errors=[FieldError(
            "body", f"Between 1 and {COMMENT_MAX_CHARS} characters.", code="required")])
    entry = _entry_for_record(actor, entry_id)
    return JournalEntryComment.objects.create(organisation_id=entry.organisation_id, entry=entry, body=body,
                                              author=actor)
