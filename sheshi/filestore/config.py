"""``STORAGES`` from the environment: S3 when a bucket is named, the file system otherwise.

Read by the settings at start-up. The names match deploy/aws (ecs.tf sets them; a test compares).
"""
from __future__ import annotations

from sheshi.env import env

FILESYSTEM = "sheshi.filestore.storage.ContentAddressedFileSystemStorage"
S3 = "sheshi.filestore.storage.ContentAddressedS3Storage"
LOCK_MODES = ("", "GOVERNANCE", "COMPLIANCE")


def _s3_options(bucket: str, *, lock_mode: str = "", lock_days: int = 0) -> dict:
    options = {
        "bucket_name": bucket,
        "region_name": env.str("SHESHI_AWS_REGION", default="") or None,
        "endpoint_url": env.str("SHESHI_S3_ENDPOINT_URL", default="") or None,  # a local S3 (tests), else AWS
        "querystring_auth": True,
        "file_overwrite": True,  # content-addressed: a key never holds other bytes
        "default_acl": None,
        "object_parameters": {"ServerSideEncryption": "aws:kms"},
    }
    kms_key = env.str("SHESHI_S3_KMS_KEY_ID", default="")
    if kms_key:
        options["object_parameters"]["SSEKMSKeyId"] = kms_key
    if lock_mode:
        options["lock_mode"], options["lock_days"] = lock_mode, lock_days
    return options


def storages_from_environment() -> dict:
    """The ``default`` and ``evidence`` entries (``staticfiles`` is the settings' own)."""
    sources = env.str("SHESHI_S3_SOURCES_BUCKET", default="")
    evidence = env.str("SHESHI_S3_EVIDENCE_BUCKET", default="")
    lock_mode = env.str("SHESHI_S3_EVIDENCE_LOCK_MODE", default="").upper()
    lock_days = env.int("SHESHI_S3_EVIDENCE_LOCK_DAYS", default=0)
    if lock_mode not in LOCK_MODES:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"SHESHI_S3_EVIDENCE_LOCK_MODE must be GOVERNANCE or COMPLIANCE, not {lock_mode!r}.")
    if lock_mode and lock_days <= 0:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SHESHI_S3_EVIDENCE_LOCK_MODE needs SHESHI_S3_EVIDENCE_LOCK_DAYS > 0.")
    return {
        "default": ({"BACKEND": S3, "OPTIONS": _s3_options(sources)} if sources
                    else {"BACKEND": FILESYSTEM}),
        "evidence": ({"BACKEND": S3, "OPTIONS": _s3_options(evidence, lock_mode=lock_mode, lock_days=lock_days)}
                     if evidence else
                     {"BACKEND": FILESYSTEM, "OPTIONS": {"subdir": "evidence"}}),
    }
