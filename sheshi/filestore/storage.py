"""Content-addressed storage backends: the key of a stored file is derived from its SHA-256.

``<folder>/<sha[:2]>/<sha>/<file name>``, or the name as given when it already carries its own
hash as a path component (import source files: ``imports/ab/cd/<sha>``). The same bytes under the
same name are stored once; a key never holds other bytes, so overwriting is never a change and a
reader can verify what it got. The original file name stays the last component, for downloads.

On S3 every object is written with SSE-KMS (``object_parameters``), and the evidence store adds an
Object Lock retention to each object it writes (``lock_mode``/``lock_days``) where configured.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils import timezone
from django.utils.functional import cached_property
from storages.backends.s3 import S3Storage


def content_sha256(content) -> str:
    digest = hashlib.sha256()
    for chunk in content.chunks():  # File.chunks() starts from the beginning
        digest.update(chunk)
    if hasattr(content, "seek"):
        content.seek(0)
    return digest.hexdigest()


def content_addressed_name(name: str, sha256: str) -> str:
    name = name.replace("\\", "/")
    if sha256 in name.split("/"):
        return name
    folder, base = posixpath.split(name)
    return posixpath.join(folder, sha256[:2], sha256, base or sha256)


class ContentAddressedMixin:
    def _save(self, name, content):
        name = content_addressed_name(name, content_sha256(content))
        if self.exists(name):  # same key, same bytes: already stored
            return name
        return super()._save(name, content)


class ContentAddressedFileSystemStorage(ContentAddressedMixin, FileSystemStorage):
    """MEDIA_ROOT (``default``), or a folder of it given as ``subdir`` (``evidence``); read when first
    used, so a settings profile that moves MEDIA_ROOT moves these too."""

    def __init__(self, *args, subdir: str = "", **kwargs):
        self.subdir = subdir
        super().__init__(*args, **kwargs)

    @cached_property
    def base_location(self):
        base = self._value_or_setting(self._location, settings.MEDIA_ROOT)
        return os.path.join(base, self.subdir) if self.subdir and self._location is None else base


class ContentAddressedS3Storage(ContentAddressedMixin, S3Storage):
    def get_default_settings(self):
        return {**super().get_default_settings(), "lock_mode": "", "lock_days": 0}

    def get_object_parameters(self, name):
        params = super().get_object_parameters(name)
        if self.lock_mode:
            params["ObjectLockMode"] = self.lock_mode
            params["ObjectLockRetainUntilDate"] = timezone.now() + timedelta(days=self.lock_days)
        return params
