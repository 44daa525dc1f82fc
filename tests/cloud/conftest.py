"""A local AWS for the cloud wiring: moto in server mode on 127.0.0.1, one per test session.

boto3 and django-storages talk to it over HTTP exactly as to AWS, through the endpoint settings
(``SHESHI_S3_ENDPOINT_URL``, ``SHESHI_AWS_ENDPOINT_URL``). It is not AWS: KMS key policies, bucket
policies and IAM stay in Terraform (deploy/aws) and are not exercised here."""
from __future__ import annotations

import os
import socket
import uuid

import boto3
import pytest

REGION = "eu-west-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """``http://127.0.0.1:<port>`` of a moto server started for this session (fake credentials)."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 call otherwise

    previous = {k: os.environ.get(k) for k in FAKE_CREDENTIALS}
    os.environ.update(FAKE_CREDENTIALS)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def aws(moto_endpoint):
    """boto3 clients on the local server: ``aws("s3")``."""
    return lambda service: boto3.client(service, region_name=REGION, endpoint_url=moto_endpoint)


@pytest.fixture
def s3_buckets(aws, monkeypatch, settings, tmp_path):
    """Fresh sources and evidence buckets (evidence with Object Lock), a KMS key, and STORAGES built
    from the environment variables the deployment sets (sheshi/filestore/config.py)."""
    from sheshi.filestore.config import storages_from_environment

    s3 = aws("s3")
    suffix = uuid.uuid4().hex[:10]
    sources, evidence = f"sheshi-sources-{suffix}", f"sheshi-evidence-{suffix}"
    location = {"LocationConstraint": REGION}
    s3.create_bucket(Bucket=sources, CreateBucketConfiguration=location)
    s3.create_bucket(Bucket=evidence, CreateBucketConfiguration=location, ObjectLockEnabledForBucket=True)
    key_arn = aws("kms").create_key(Description="sheshi test")["KeyMetadata"]["Arn"]
    env = {"SHESHI_S3_SOURCES_BUCKET": sources, "SHESHI_S3_EVIDENCE_BUCKET": evidence,
           "SHESHI_S3_ENDPOINT_URL": s3.meta.endpoint_url, "SHESHI_AWS_REGION": REGION,
           "SHESHI_S3_KMS_KEY_ID": key_arn, "SHESHI_S3_EVIDENCE_LOCK_MODE": "GOVERNANCE",
           "SHESHI_S3_EVIDENCE_LOCK_DAYS": "1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings.MEDIA_ROOT = tmp_path / "media"  # a file on the local disk would be a leak, not a stale left-over
    settings.STORAGES = {**storages_from_environment(), "staticfiles": settings.STORAGES["staticfiles"]}
    return type("Buckets", (), {"s3": s3, "sources": sources, "evidence": evidence, "kms_key": key_arn})
