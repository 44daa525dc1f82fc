"""Where Sheshi keeps files: Django's ``STORAGES``, on S3 or the local file system.

``default`` holds import source files and attachments, ``evidence`` holds evidence archives (and,
with the S3 anchor store, the audit anchors): both content-addressed (``storage.py``). With
``SHESHI_S3_SOURCES_BUCKET`` / ``SHESHI_S3_EVIDENCE_BUCKET`` set they are S3 buckets written with
SSE-KMS, the evidence bucket with an Object Lock retention per object where configured; otherwise
folders under ``MEDIA_ROOT`` (``config.py`` builds the setting).
"""
