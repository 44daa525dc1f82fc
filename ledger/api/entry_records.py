"""Supporting documents and comments of a journal entry over the API (issue 16): listed by whoever
sees the entry, added through journal_entry_attachment_add / journal_entry_comment_add. Mixed into
JournalEntryViewSet (ledger/api/views.py), whose get_object scopes the entry and checks If-Match."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from ledger.api.serializers import (
    JournalEntryAttachmentInput,
    JournalEntryAttachmentOutput,
    JournalEntryCommentInput,
    JournalEntryCommentOutput,
)
from ledger.services.attachments import journal_entry_attachment_add, journal_entry_comment_add
from sheshi.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent


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

