"""Audit anchors in the S3 evidence bucket: written once, kept under Object Lock.

``SHESHI_AUDIT_ANCHOR_STORE=audit.anchor.s3.S3AnchorStore`` with ``SHESHI_AUDIT_ANCHOR_DIR`` as the
key prefix (e.g. ``audit-anchors``). It uses the ``evidence`` storage's bucket, client and object
parameters (SSE-KMS and, where configured, the Object Lock retention: ``sheshi/filestore``), and
writes with ``If-None-Match: *`` so an existing anchor is never replaced — the same promise as the
directory store's O_EXCL, kept by S3 itself.
"""
from __future__ import annotations

from botocore.exceptions import ClientError
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages

from audit.anchor.store import AnchorExistsError, anchor_sequence


class S3AnchorStore:
    def __init__(self, location: str) -> None:
        storage = storages["evidence"]
        if not hasattr(storage, "bucket_name"):
            raise ImproperlyConfigured("S3AnchorStore needs the evidence store on S3 (SHESHI_S3_EVIDENCE_BUCKET).")
        self.storage, self.bucket = storage, storage.bucket_name
        self.prefix = str(location).strip("/")
        self.client = storage.connection.meta.client

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, name: str, data: bytes) -> None:
        if anchor_sequence(name) is None:
            raise ValueError(f"not an anchor name: {name!r}")
        params = self.storage.get_object_parameters(name)
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data, IfNoneMatch="*",
                                   ContentType="application/json", **params)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (409, 412):
                raise AnchorExistsError(f"{self.describe()}/{name} already exists") from None
            raise

    def names(self) -> list[str]:
        found = []
        start = f"{self.prefix}/" if self.prefix else ""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                name = item["Key"][len(start):]
                if anchor_sequence(name) is not None:
                    found.append(name)
        return found

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"
