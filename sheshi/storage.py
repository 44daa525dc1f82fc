"""Files stored by their content (supporting documents, reconciliation evidence): the name is the
SHA-256 of the bytes, so a document is written once however often it is attached, and what an
audit event names by hash is exactly what is stored."""
from __future__ import annotations

import hashlib

from django.core.files.base import File
from django.core.files.storage import default_storage


def content_addressed_name(prefix: str, sha256: str) -> str:
    return f"{prefix}/{sha256[:2]}/{sha256}"


def content_addressed_store(upload, *, prefix: str) -> tuple[str, str, int]:
    """(sha256, storage name, size). The file is written once per content through the default
    storage (so it can live on S3); a second upload of the same bytes reuses it. Written before
    the caller's transaction commits: a rolled-back attach leaves a file no row names, harmless
    because its name is its content."""
    digest, size = hashlib.sha256(), 0
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    sha = digest.hexdigest()
    name = content_addressed_name(prefix, sha)
    if not default_storage.exists(name):
        upload.seek(0)
        saved = default_storage.save(name, File(upload))
        if saved != name:  # stored concurrently under the name by another upload of the same bytes
            default_storage.delete(saved)
    return sha, name, size
