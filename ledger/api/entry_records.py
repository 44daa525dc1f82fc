"""Supporting documents and comments of a journal entry over the API (issue 16): listed by whoever
sees the entry, added through journal_entry_attachment_add / journal_entry_comment_add. Mixed into
JournalEntryViewSet (ledger/api/views.py), whose get_object scopes the entry and checks If-Match."""
from __future__ import annotations

from django.http import FileResponse, HttpResponseNotModified
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.services.events import audit_read
from ledger.api.serializers import (
    JournalEntryAttachmentInput,
    JournalEntryAttachmentOutput,
    JournalEntryCommentInput,
    JournalEntryCommentOutput,
)
from ledger.selectors.attachments import (
    attachment_etag,
    attachment_file_open,
    attachment_repr_digest,
    journal_entry_attachment_get,
)
from ledger.services.attachments import journal_entry_attachment_add, journal_entry_comment_add
from sheshi.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from sheshi.errors import NotFound

_DOWNLOAD_HEADERS = [
    OpenApiParameter("attachment_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The attachment's id."),
    OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                     description="The ETag of a copy you hold: 304 without a body when it is still the document."),
    OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 304],
                     description="The document's SHA-256 (hex) in quotes: a strong entity tag."),
    OpenApiParameter("Repr-Digest", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
                     description="RFC 9530 digest of the bytes: sha-256=:<base64>: (the same SHA-256 as the ETag "
                                 "and the audit event of the upload)."),
    OpenApiParameter("X-Content-SHA256", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
                     description="The document's SHA-256 in hex."),
    OpenApiParameter("Content-Disposition", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
                     description="attachment, with the file name as uploaded."),
]


class JournalEntryRecordsMixin:
    @extend_schema(request=None, responses=JournalEntryAttachmentOutput(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def attachments(self, request, pk=None):
        """The entry's supporting documents (name, size, SHA-256), oldest first."""
        entry = self.get_object()
        return Response(JournalEntryAttachmentOutput(entry.attachments.select_related("uploaded_by"), many=True).data)

    @extend_schema(request={"multipart/form-data": JournalEntryAttachmentInput},
                   responses={201: JournalEntryAttachmentOutput}, parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @attachments.mapping.post
    @idempotent
    def attachment_add(self, request, pk=None):
        """Attach a document, stored by its SHA-256 (named in the audit event); the same bytes twice are 409."""
        entry = self.get_object()  # 404 outside the caller's view; 412 on a stale If-Match
        data = JournalEntryAttachmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = journal_entry_attachment_add(actor=request.user, entry_id=entry.pk,
                                                  upload=data.validated_data["file"])
        return Response(JournalEntryAttachmentOutput(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None, parameters=_DOWNLOAD_HEADERS,
        responses={(200, "application/octet-stream"): OpenApiResponse(
            OpenApiTypes.BINARY, description="The document's bytes, with the content type it was uploaded with."),
            304: OpenApiResponse(description="Not modified: If-None-Match names this document.")})
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>[0-9]+)",
            url_name="attachment-download", pagination_class=None)
    def attachment_download(self, request, pk=None, attachment_id=None):
        """Download a supporting document as uploaded: its content type, its file name in
        Content-Disposition, its SHA-256 as the ETag and in Repr-Digest. 404 for an entry of an entity the
        caller does not see (whether or not it exists) and for an attachment of another entry. The read
        is audited (journal.attachment_read)."""
        entry = self.get_object()  # 404 outside the caller's view
        attachment = journal_entry_attachment_get(request.user, entry_id=entry.pk, attachment_id=int(attachment_id))
        if attachment is None:
            raise NotFound(f"Entry {entry.pk} has no attachment {attachment_id}.")
        etag = attachment_etag(attachment)
        # If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" names the same document as "x".
        held = [t.strip().removeprefix("W/") for t in (request.headers.get("If-None-Match") or "").split(",")]
        if etag in held or "*" in held:
            response = HttpResponseNotModified()
            response["ETag"] = etag
            return response
        stream = attachment_file_open(attachment)
        if stream is None:
            raise NotFound(f"The file of attachment {attachment.pk} is missing from the storage.")
        audit_read(request._request, organisation_id=entry.organisation_id,
                   object_type="ledger.journalentryattachment", object_id=attachment.pk,
                   action="journal.attachment_read", params={"sha256": attachment.sha256})
        response = FileResponse(stream, as_attachment=True, filename=attachment.file_name,
                                content_type=attachment.content_type or "application/octet-stream")
        response["ETag"] = etag
        response["Repr-Digest"] = attachment_repr_digest(attachment)
        response["X-Content-SHA256"] = attachment.sha256
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @extend_schema(request=None, responses=JournalEntryCommentOutput(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def comments(self, request, pk=None):
        """The entry's comments, oldest first."""
        entry = self.get_object()
        return Response(JournalEntryCommentOutput(entry.comments.select_related("author"), many=True).data)

    @extend_schema(request=JournalEntryCommentInput, responses={201: JournalEntryCommentOutput},
                   parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @comments.mapping.post
    @idempotent
    def comment_add(self, request, pk=None):
        """Add a comment (comments are never edited: a correction is another comment)."""
        entry = self.get_object()
        data = JournalEntryCommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        comment = journal_entry_comment_add(actor=request.user, entry_id=entry.pk, body=data.validated_data["body"])
        return Response(JournalEntryCommentOutput(comment).data, status=status.HTTP_201_CREATED)

