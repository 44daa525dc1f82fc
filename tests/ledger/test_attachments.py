"""Supporting documents (content-addressed, their SHA-256 in the audit event) and append-only
comments on journal entries (issue 16): services, database rules, the admin page and the API."""
import base64
import hashlib

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator

from audit.models import AuditEvent
from ledger.errors import AttachmentDuplicateError
from ledger.models import JournalEntryAttachment, JournalEntryComment
from ledger.services.attachments import ATTACHMENT_PREFIX, journal_entry_attachment_add, journal_entry_comment_add
from ledger.services.entries import journal_entry_create, journal_entry_create_and_post
from sheshi.errors import PermissionDenied, ValidationFailed
from sheshi.storage import content_addressed_name
from tests.factories import user_with_role
from tests.ledger.test_database_rules import raw, refused

pytestmark = pytest.mark.django_db

INVOICE = b"%PDF-1.4 invoice 2026-0042 for the March audit fee"
SHA = hashlib.sha256(INVOICE).hexdigest()


def upload(content=INVOICE, name="invoice.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def people(world):
    users = {role: user_with_role(world.entity, role) for role in ("preparer", "approver", "viewer")}
    for user in users.values():
        user.is_staff = True
        user.save()
        user.user_permissions.add(*Permission.objects.filter(content_type__app_label="ledger"))
    return users


@pytest.fixture
def posted(world):
    return journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("42")).entry


# ---- services -----------------------------------------------------------------------------------

def test_a_document_is_stored_by_its_hash_and_the_audit_event_names_it(world, people, posted):
    attachment = journal_entry_attachment_add(actor=people["approver"], entry_id=posted.pk, upload=upload())
    assert (attachment.sha256, attachment.file_name, attachment.size, attachment.storage_name) == (
        SHA, "invoice.pdf", len(INVOICE), content_addressed_name(ATTACHMENT_PREFIX, SHA))
    with default_storage.open(attachment.storage_name, "rb") as stored:
        assert stored.read() == INVOICE
    event = AuditEvent.objects.get(action="journal_entry.attachment_added")
    assert (event.object_id, event.changes["sha256"], event.changes["attachment_id"]) == (
        str(posted.pk), SHA, attachment.pk)


def test_the_same_document_twice_on_an_entry_is_refused_but_another_entry_reuses_the_file(world, people, posted):
    journal_entry_attachment_add(actor=people["preparer"], entry_id=posted.pk, upload=upload())
    with pytest.raises(AttachmentDuplicateError):
        journal_entry_attachment_add(actor=people["preparer"], entry_id=posted.pk, upload=upload(name="again.pdf"))
    assert JournalEntryAttachment.objects.filter(entry=posted).count() == 1
    draft = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("7")).entry
    other = journal_entry_attachment_add(actor=people["preparer"], entry_id=draft.pk, upload=upload())
    assert other.storage_name == JournalEntryAttachment.objects.get(entry=posted).storage_name


def test_a_viewer_may_not_attach_or_comment_and_nothing_is_written(people, posted):
    with pytest.raises(PermissionDenied):
        journal_entry_attachment_add(actor=people["viewer"], entry_id=posted.pk, upload=upload())
    with pytest.raises(PermissionDenied):
        journal_entry_comment_add(actor=people["viewer"], entry_id=posted.pk, body="why?")
    assert (JournalEntryAttachment.objects.count(), JournalEntryComment.objects.count()) == (0, 0)


def test_comments_are_added_and_a_blank_one_is_refused(people, posted):
    comment = journal_entry_comment_add(actor=people["approver"], entry_id=posted.pk, body="  Checked vs PO 77. ")
    assert (comment.body, comment.author_id) == ("Checked vs PO 77.", people["approver"].pk)
    with pytest.raises(ValidationFailed):
        journal_entry_comment_add(actor=people["approver"], entry_id=posted.pk, body="   ")
    assert JournalEntryComment.objects.count() == 1


def test_documents_and_comments_never_change_nor_go(people, posted):
    attachment = journal_entry_attachment_add(actor=people["preparer"], entry_id=posted.pk, upload=upload())
    comment = journal_entry_comment_add(actor=people["preparer"], entry_id=posted.pk, body="first")
    refused("ledger_entry_record_append_only", "UPDATE ledger_journalentryattachment SET file_name = 'x' "
            "WHERE id = %s", [attachment.pk])
    refused("ledger_entry_record_append_only", "DELETE FROM ledger_journalentryattachment WHERE id = %s",
            [attachment.pk])
    refused("ledger_entry_record_append_only", "UPDATE ledger_journalentrycomment SET body = 'edited' WHERE id = %s",
            [comment.pk])
    refused("ledger_entry_record_append_only", "DELETE FROM ledger_journalentrycomment WHERE id = %s", [comment.pk])
    refused("entry_attachment_once", """
        INSERT INTO ledger_journalentryattachment (organisation_id, entry_id, sha256, storage_name, file_name, size,
                                                   content_type, uploaded_at)
        SELECT organisation_id, entry_id, sha256, storage_name, 'copy.pdf', size, '', now()
          FROM ledger_journalentryattachment WHERE id = %s""", [attachment.pk])
    refused("entry_comment_not_blank", """
        INSERT INTO ledger_journalentrycomment (organisation_id, entry_id, body, created_at)
        SELECT organisation_id, entry_id, ' ', now() FROM ledger_journalentrycomment WHERE id = %s""", [comment.pk])
    assert raw("SELECT file_name FROM ledger_journalentryattachment") == [("invoice.pdf",)]
    assert raw("SELECT body FROM ledger_journalentrycomment") == [("first",)]


# ---- admin --------------------------------------------------------------------------------------

def test_the_entry_page_shows_documents_and_comments_and_adds_them(client, people, posted):
    page_url = f"/admin/ledger/journalentry/{posted.pk}/change/"
    client.force_login(people["approver"])
    page = client.get(page_url).content.decode()
    assert 'id="je-attach-form"' in page and 'id="je-comment-form"' in page and "No documents attached." in page
    done = client.post(f"/admin/ledger/journalentry/{posted.pk}/attach/", {"file": upload()}, follow=True)
    assert [str(m) for m in done.context["messages"]] == [f"“invoice.pdf” attached (SHA-256 {SHA[:12]}…)."]
    again = client.post(f"/admin/ledger/journalentry/{posted.pk}/attach/", {"file": upload()}, follow=True)
    assert [str(m) for m in again.context["messages"]] == [
        f"The document was not attached: This document is already attached to entry {posted.pk}."]
    client.post(f"/admin/ledger/journalentry/{posted.pk}/comment/", {"body": "Agreed to the invoice."})
    page = client.get(page_url).content.decode()
    attachment = JournalEntryAttachment.objects.get()
    assert f"/admin/ledger/journalentry/{posted.pk}/attachments/{attachment.pk}/" in page
    assert "Agreed to the invoice." in page
    download = client.get(f"/admin/ledger/journalentry/{posted.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == INVOICE
    assert AuditEvent.objects.filter(action="journal.attachment_read", object_id=str(attachment.pk)).count() == 1


def test_a_viewer_sees_the_documents_without_the_forms_and_cannot_post_them(client, people, posted):
    journal_entry_comment_add(actor=people["preparer"], entry_id=posted.pk, body="Accrual per contract.")
    client.force_login(people["viewer"])
    page = client.get(f"/admin/ledger/journalentry/{posted.pk}/change/").content.decode()
    assert "Accrual per contract." in page and 'id="je-comment-form"' not in page
    done = client.post(f"/admin/ledger/journalentry/{posted.pk}/comment/", {"body": "sneaky"}, follow=True)
    assert [str(m) for m in done.context["messages"]] == [
        "The comment was not added: You are not allowed to prepare journal entries for entity "
        f"{posted.entity.code}."]
    assert JournalEntryComment.objects.count() == 1


def test_the_draft_form_shows_the_documents_too(client, world, people):
    draft = journal_entry_create(actor=people["preparer"], entity=world.entity, entry=world.sale("5")).entry
    client.force_login(people["preparer"])
    page = client.get(f"/admin/ledger/journalentry/{draft.pk}/change/").content.decode()
    assert f"Edit draft entry {draft.pk}" in page and 'id="je-attach-form"' in page
    assert page.index('id="je-documents"') > page.index("</form>")  # never nested in the entry's form


def test_another_entitys_entry_documents_are_404(client, world, people):
    theirs = journal_entry_create_and_post(actor=None, entity=world.other, entry=world.sale("9")).entry
    client.force_login(people["approver"])
    assert client.post(f"/admin/ledger/journalentry/{theirs.pk}/comment/", {"body": "x"}).status_code == 404
    assert JournalEntryComment.objects.count() == 0


# ---- API ----------------------------------------------------------------------------------------

def test_the_api_lists_and_adds_documents_and_comments(client, people, posted):
    client.force_login(people["preparer"])
    base = f"/api/v1/journal-entries/{posted.pk}"
    created = client.post(f"{base}/attachments/", {"file": upload()})
    assert created.status_code == 201 and created.json()["sha256"] == SHA
    assert client.post(f"{base}/attachments/", {"file": upload()}).json()["code"] == "attachment_duplicate"
    assert [a["file_name"] for a in client.get(f"{base}/attachments/").json()] == ["invoice.pdf"]
    said = client.post(f"{base}/comments/", {"body": "See invoice."}, content_type="application/json")
    assert said.status_code == 201 and said.json()["author"] == people["preparer"].username
    assert [c["body"] for c in client.get(f"{base}/comments/").json()] == ["See invoice."]


def test_the_api_downloads_a_document_with_its_type_name_and_sha256(client, world, people, posted):
    """Issue 16: the admin downloaded documents, the API only listed them."""
    attachment = journal_entry_attachment_add(actor=people["preparer"], entry_id=posted.pk, upload=upload())
    client.force_login(people["viewer"])
    listed = client.get(f"/api/v1/journal-entries/{posted.pk}/attachments/").json()
    url = listed[0]["download"]
    assert url == f"/api/v1/journal-entries/{posted.pk}/attachments/{attachment.pk}/"
    got = client.get(url)
    assert got.status_code == 200 and b"".join(got.streaming_content) == INVOICE
    assert got["Content-Type"] == "application/pdf"
    assert got["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert got["ETag"] == f'"{SHA}"' and got["X-Content-SHA256"] == SHA
    assert got["Repr-Digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(INVOICE).digest()).decode()}:"
    read = AuditEvent.objects.get(action="journal.attachment_read")
    assert (read.object_id, read.changes["params"]["sha256"], read.actor_id) == (
        str(attachment.pk), SHA, people["viewer"].pk)
    again = client.get(url, HTTP_IF_NONE_MATCH=f'"{SHA}"')
    assert again.status_code == 304 and again["ETag"] == f'"{SHA}"'


def test_the_api_hides_another_entitys_document(client, world, people, posted):
    """A user of another entity gets 404 for the document (as for a missing one); the document of
    another entity's entry asked for under one's own entry is 404 too; without a login, 401/403."""
    attachment = journal_entry_attachment_add(actor=people["preparer"], entry_id=posted.pk, upload=upload())
    url = f"/api/v1/journal-entries/{posted.pk}/attachments/{attachment.pk}/"
    outsider = user_with_role(world.other, "controller")
    client.force_login(outsider)
    hidden = client.get(url)
    missing = client.get(f"/api/v1/journal-entries/{posted.pk}/attachments/{attachment.pk + 1000}/")
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.json()["code"] == missing.json()["code"] == "not_found"
    theirs = journal_entry_create_and_post(actor=None, entity=world.other, entry=world.sale("9")).entry
    client.force_login(people["viewer"])
    assert client.get(f"/api/v1/journal-entries/{posted.pk}/attachments/{attachment.pk}/").status_code == 200
    mine_elsewhere = journal_entry_attachment_add(actor=outsider, entry_id=theirs.pk, upload=upload(b"other"))
    assert client.get(f"/api/v1/journal-entries/{posted.pk}/attachments/{mine_elsewhere.pk}/").status_code == 404
    client.logout()
    anonymous = client.get(url)
    assert anonymous.status_code in (401, 403) and not anonymous.has_header("ETag")
    assert AuditEvent.objects.filter(action="journal.attachment_read").count() == 1


def test_the_download_is_documented_in_the_openapi_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    op = schema["paths"]["/api/v1/journal-entries/{id}/attachments/{attachment_id}/"]["get"]
    assert "application/octet-stream" in op["responses"]["200"]["content"]
    assert {"ETag", "Repr-Digest", "Content-Disposition"} <= set(op["responses"]["200"]["headers"])
    assert {"404", "304"} <= set(op["responses"])
