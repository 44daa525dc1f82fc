"""Supporting documents and comments on the journal entry's admin page (issue 16).

The entry's pages (the draft form and the read-only view) show both lists with an upload form and
a comment form; these post to the views below, which call ``journal_entry_attachment_add`` and
``journal_entry_comment_add`` and come back to the entry's page with a message. A refusal is a
sentence on the page (``human_message``), never a 500. Documents download through ``download``,
which checks the entry is visible and records the read."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import FileResponse, Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse

from audit.services.events import audit_read
from ledger.admin_journal import human_message
from ledger.models import JournalEntry
from ledger.selectors.attachments import attachment_file_open, journal_entry_attachment_get
from ledger.services.attachments import journal_entry_attachment_add, journal_entry_comment_add
from sheshi.access.checks import has_entity_perm
from sheshi.access.roles import APPROVE, PREPARE, VIEW
from sheshi.errors import SheshiError
from sheshi.tenancy.scoping import entity_ids_for


class AttachmentForm(forms.Form):
    file = forms.FileField(label="Document")


class CommentForm(forms.Form):
    body = forms.CharField(label="Comment", max_length=5000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


def documents_context(request, entry: JournalEntry) -> dict:
    """What the entry's page shows: its documents and comments, and the forms when the user may add."""
    may_add = request.user.is_superuser or has_entity_perm(request.user, PREPARE, entry.entity) \
        or has_entity_perm(request.user, APPROVE, entry.entity)
    return {"documents": {
        "entry": entry, "may_add": may_add,
        "attachments": list(entry.attachments.select_related("uploaded_by")),
        "comments": list(entry.comments.select_related("author")),
        "attachment_form": AttachmentForm(), "comment_form": CommentForm()}}


def _visible_entry(request, entry_id: int) -> JournalEntry:
    entry = (JournalEntry.objects.select_related("entity")
             .filter(pk=entry_id, entity_id__in=entity_ids_for(request.user, VIEW)).first())
    if entry is None:
        raise Http404("No such journal entry.")
    return entry


def _back(entry: JournalEntry) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("admin:ledger_journalentry_change", args=[entry.pk]) + "#je-documents")


def attachment_add_view(modeladmin, request, entry_id: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    entry = _visible_entry(request, entry_id)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        modeladmin.message_user(request, "Choose a file to attach.", messages.ERROR)
        return _back(entry)
    try:
        attachment = journal_entry_attachment_add(actor=request.user, entry_id=entry.pk,
                                                  upload=form.cleaned_data["file"])
    except (SheshiError, DatabaseError) as exc:
        modeladmin.message_user(request, f"The document was not attached: {human_message(exc)}", messages.ERROR)
        return _back(entry)
    modeladmin.message_user(request, f"“{attachment.file_name}” attached (SHA-256 {attachment.sha256[:12]}…).",
                            messages.SUCCESS)
    return _back(entry)


def comment_add_view(modeladmin, request, entry_id: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    entry = _visible_entry(request, entry_id)
    form = CommentForm(request.POST)
    if not form.is_valid():
        modeladmin.message_user(request, "Write a comment first.", messages.ERROR)
        return _back(entry)
    try:
        journal_entry_comment_add(actor=request.user, entry_id=entry.pk, body=form.cleaned_data["body"])
    except (SheshiError, DatabaseError) as exc:
        modeladmin.message_user(request, f"The comment was not added: {human_message(exc)}", messages.ERROR)
        return _back(entry)
    modeladmin.message_user(request, "Comment added.", messages.SUCCESS)
    return _back(entry)


def attachment_download_view(modeladmin, request, entry_id: int, attachment_id: int):
    entry = _visible_entry(request, entry_id)
    attachment = journal_entry_attachment_get(request.user, entry_id=entry.pk, attachment_id=attachment_id)
    if attachment is None:
        raise Http404("No such document.")
    stream = attachment_file_open(attachment)
    if stream is None:
        raise PermissionDenied("The document's file is missing from the storage.")
    audit_read(request, organisation_id=entry.organisation_id, object_type="ledger.journalentryattachment",
               object_id=attachment.pk, action="journal.attachment_read", params={"sha256": attachment.sha256})
    return FileResponse(stream, as_attachment=True, filename=attachment.file_name,
                        content_type=attachment.content_type or "application/octet-stream")
