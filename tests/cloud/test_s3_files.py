"""Files on S3 (moto server on 127.0.0.1): import sources and attachments in the sources bucket with
SSE-KMS under content-addressed keys, evidence archives and audit anchors in the evidence bucket
under Object Lock, and a clear refusal when an object was deleted behind the app."""
from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from psycopg.types.range import Range

from audit.anchor.services import anchor_latest, audit_anchor_write
from audit.anchor.store import AnchorExistsError, anchor_store
from audit.models import AuditEvent
from ledger.imports.mapping import ColumnMapping
from ledger.imports.models import ImportBatch, ImportStatus, SourceSystem
from ledger.imports.services import import_batch_create, import_batch_run
from ledger.models import JournalEntry, LocalAccountMapping
from periods.models import Period
from sheshi.filestore.config import FILESYSTEM, S3, storages_from_environment
from tests.factories import user_with_role
from tests.imports.helpers import FILES, TB
from tests.ledger.helpers import build_world

pytestmark = pytest.mark.django_db
URL = "/api/v1/import-batches/"
TB_UTF8 = (FILES / "tb_utf8.csv").read_bytes()
LOCAL = {"1000": "1100", "1200": "1200", "2000": "2100", "4000": "4100"}


@pytest.fixture
def world(db):
    w = build_world()
    for local, group in LOCAL.items():
        LocalAccountMapping.objects.create(organisation=w.org, entity=w.entity, local_code=local,
                                           account=w.accounts[group], valid=Range(date(2020, 1, 1), None))
    w.source = SourceSystem.objects.create(organisation=w.org, code="SAP", name="SAP", kind="trial_balance",
                                           mapping=TB.as_dict())
    return w


def _upload(client, world, data=TB_UTF8):
    return client.post(URL, {"file": SimpleUploadedFile("tb_utf8.csv", data, content_type="text/csv"),
                             "entity": world.entity.code, "period": "2026-01", "source_system": world.source.pk})


def test_without_bucket_settings_files_stay_on_the_file_system(monkeypatch):
    for name in ("SHESHI_S3_SOURCES_BUCKET", "SHESHI_S3_EVIDENCE_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    config = storages_from_environment()
    assert config["default"]["BACKEND"] == FILESYSTEM and config["evidence"]["BACKEND"] == FILESYSTEM


def test_an_uploaded_import_is_stored_in_the_sources_bucket_encrypted_and_posted(client, world, s3_buckets,
                                                                                 settings):
    client.force_login(user_with_role(world.entity, "preparer"))
    response = _upload(client, world)
    assert response.status_code == 201, response.json()
    batch = ImportBatch.objects.get()
    sha = hashlib.sha256(TB_UTF8).hexdigest()
    assert batch.status == ImportStatus.POSTED and batch.sha256 == sha
    assert batch.file_path == f"imports/{sha[:2]}/{sha[2:4]}/{sha}"  # the key is the content's hash
    head = s3_buckets.s3.head_object(Bucket=s3_buckets.sources, Key=batch.file_path)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == s3_buckets.kms_key
    stored = s3_buckets.s3.get_object(Bucket=s3_buckets.sources, Key=batch.file_path)["Body"].read()
    assert stored == TB_UTF8
    assert not (Path(settings.MEDIA_ROOT) / batch.file_path).exists()  # nothing on the task's disk
    download = client.get(f"{URL}{batch.pk}/file/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == TB_UTF8


def test_a_source_file_deleted_behind_the_app_is_a_clear_410_not_a_500(client, world, s3_buckets):
    client.force_login(user_with_role(world.entity, "preparer"))
    assert _upload(client, world).status_code == 201
    batch = ImportBatch.objects.get()
    s3_buckets.s3.delete_object(Bucket=s3_buckets.sources, Key=batch.file_path)
    response = client.get(f"{URL}{batch.pk}/file/")
    assert response.status_code == 410
    problem = response.json()
    assert problem["code"] == "source_file_missing" and batch.file_path in problem["detail"]


def test_a_batch_whose_source_file_vanished_before_it_ran_fails_naming_the_file_and_posts_nothing(world, s3_buckets):
    preparer = user_with_role(world.entity, "preparer")
    period = Period.objects.get(organisation=world.org, code="2026-01")
    batch = import_batch_create(actor=preparer, entity=world.entity, period=period, stream=ContentFile(TB_UTF8),
                                filename="tb.csv", mapping=ColumnMapping.from_dict(TB.as_dict()),
                                source_system=world.source)
    s3_buckets.s3.delete_object(Bucket=s3_buckets.sources, Key=batch.file_path)
    entries_before = JournalEntry.objects.count()
    batch = import_batch_run(actor=preparer, batch_id=batch.pk)
    assert batch.status == ImportStatus.FAILED
    assert [(e["code"], e["value"]) for e in batch.errors] == [("source_file_missing", batch.file_path)]
    assert JournalEntry.objects.count() == entries_before


def test_attachments_get_content_addressed_keys_and_are_stored_once(s3_buckets):
    data = b"%PDF-1.7 bank statement"
    sha = hashlib.sha256(data).hexdigest()
    first = default_storage.save("close-evidence/2026/01/statement.pdf", ContentFile(data))
    second = default_storage.save("close-evidence/2026/01/statement.pdf", ContentFile(data))
    assert first == second == f"close-evidence/2026/01/{sha[:2]}/{sha}/statement.pdf"
    listed = s3_buckets.s3.list_object_versions(Bucket=s3_buckets.sources, Prefix="close-evidence/")
    assert len(listed["Versions"]) == 1
    with default_storage.open(first) as f:
        assert f.read() == data


def _assert_locked(s3, bucket: str, key: str) -> None:
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ObjectLockRetainUntilDate"] > timezone.now()
    with pytest.raises(ClientError) as refused:  # the retention holds even for a caller with delete rights
        s3.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_an_exported_evidence_archive_is_kept_in_the_evidence_bucket_under_object_lock(world, s3_buckets, tmp_path):
    out = tmp_path / "evidence.zip"
    call_command("export_audit_evidence", "--org", world.org.code, "--period", "2026-01", "--out", str(out))
    event = AuditEvent.objects.filter(action="evidence.exported").latest("id")
    key = event.changes["stored_as"]
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    assert key == f"evidence-archives/{world.org.code}/{sha[:2]}/{sha}/2026-01_2026-01.zip"
    body = s3_buckets.s3.get_object(Bucket=s3_buckets.evidence, Key=key)["Body"].read()
    assert body == out.read_bytes()
    _assert_locked(s3_buckets.s3, s3_buckets.evidence, key)
    assert storages["evidence"].exists(key)


def test_a_signed_chain_digest_is_kept_in_the_evidence_bucket_under_object_lock(world, s3_buckets):
    call_command("audit_digest", "--org", world.org.code)
    key = AuditEvent.objects.filter(action="audit.digest_exported").latest("id").changes["stored_as"]
    assert key.startswith(f"audit-digests/{world.org.code}/")
    body = s3_buckets.s3.get_object(Bucket=s3_buckets.evidence, Key=key)["Body"].read()
    assert json.loads(body)["org"] == world.org.code
    _assert_locked(s3_buckets.s3, s3_buckets.evidence, key)


def test_audit_anchors_go_to_the_evidence_bucket_once_and_locked(world, s3_buckets, settings):
    settings.SHESHI_AUDIT_ANCHOR_STORE = "audit.anchor.s3.S3AnchorStore"
    settings.SHESHI_AUDIT_ANCHOR_DIR = "audit-anchors"
    written = audit_anchor_write(reason="manual")
    store = anchor_store()
    assert store.describe() == f"s3://{s3_buckets.evidence}/audit-anchors"
    assert store.names() == [written.name]
    _assert_locked(s3_buckets.s3, s3_buckets.evidence, f"audit-anchors/{written.name}")
    assert anchor_latest(store).name == written.name
    with pytest.raises(AnchorExistsError):  # If-None-Match: * — S3 itself refuses the overwrite
        store.put(written.name, b"{}")
    assert anchor_latest(store).sha256 == hashlib.sha256(store.read(written.name)).hexdigest()
    second = audit_anchor_write(reason="manual")
    assert sorted(store.names()) == sorted([written.name, second.name])
    assert settings.STORAGES["evidence"]["BACKEND"] == S3
