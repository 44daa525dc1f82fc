"""Secrets come from the environment or a provider; nothing secret reaches the logs."""
from __future__ import annotations

import io
import json
import logging
import sys
import types

import pytest
from django.core.exceptions import ImproperlyConfigured

from sheshi.logging import JsonFormatter
from sheshi.security import secrets
from sheshi.security.redaction import REDACTED, RedactSecretsFilter, redact_text

TOKEN = "shs_1a2b3c4d_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u"


class FakeSecretsManager:
    def __init__(self, payload: dict):
        self.payload, self.calls = payload, 0

    def get_secret_value(self, SecretId):  # boto3's keyword
        self.calls += 1
        assert SecretId == "sheshi/prod"
        return {"SecretString": json.dumps(self.payload)}


def test_env_provider_reads_the_environment_and_names_a_missing_secret():
    provider = secrets.EnvSecrets({"SECRET_KEY": "abc"})
    secrets.set_provider(provider)
    try:
        assert secrets.get_secret("SECRET_KEY") == "abc"
        assert secrets.get_secret("OTHER", "fallback") == "fallback"
        with pytest.raises(ImproperlyConfigured, match="Secret OTHER is not set"):
            secrets.get_secret("OTHER")
    finally:
        secrets.set_provider(None)


def test_aws_provider_reads_one_json_secret_once_and_falls_back_to_env():
    fake = FakeSecretsManager({"SECRET_KEY": "from-aws", "SHESHI_FIELD_KEYS": "k1,k2"})
    provider = secrets.ChainedSecrets(secrets.AwsSecretsManager("sheshi/prod", client=fake),
                                      secrets.EnvSecrets({"ALLOWED_HOSTS": "x", "SECRET_KEY": "from-env"}))
    secrets.set_provider(provider)
    try:
        assert secrets.get_secret("SECRET_KEY") == "from-aws"
        assert secrets.get_secret_list("SHESHI_FIELD_KEYS") == ["k1", "k2"]
        assert secrets.get_secret("ALLOWED_HOSTS") == "x"
        assert fake.calls == 1
    finally:
        secrets.set_provider(None)


def test_aws_provider_is_chosen_by_environment_and_imports_boto3_lazily(monkeypatch):
    fake = FakeSecretsManager({"SECRET_KEY": "s"})
    calls = []
    boto3 = types.SimpleNamespace(client=lambda name, region_name=None: calls.append((name, region_name)) or fake)
    monkeypatch.setitem(sys.modules, "boto3", boto3)
    provider = secrets.provider_from_environment({"SHESHI_SECRETS_PROVIDER": "aws",
                                                  "SHESHI_AWS_SECRET_ID": "sheshi/prod", "AWS_REGION": "eu-west-1"})
    assert calls == []  # nothing fetched or imported until a secret is asked for
    assert provider.get("SECRET_KEY") == "s"
    assert calls == [("secretsmanager", "eu-west-1")]


def test_unknown_provider_and_missing_secret_id_fail_loudly():
    with pytest.raises(ImproperlyConfigured, match="Unknown SHESHI_SECRETS_PROVIDER"):
        secrets.provider_from_environment({"SHESHI_SECRETS_PROVIDER": "vault"})
    with pytest.raises(ImproperlyConfigured, match="SHESHI_AWS_SECRET_ID"):
        secrets.provider_from_environment({"SHESHI_SECRETS_PROVIDER": "aws"})


@pytest.mark.parametrize(("text", "secret"), [
    (f"calling with Authorization: Bearer {TOKEN}", TOKEN.split("_", 2)[2]),
    (f"token={TOKEN}", TOKEN.split("_", 2)[2]),
    ('{"password": "hunter2-correct-horse"}', "hunter2-correct-horse"),
    ("login failed password=hunter2-correct-horse&user=x", "hunter2-correct-horse"),
    ("HTTP_AUTHORIZATION='Basic dXNlcjpwYXNzd29yZA=='", "dXNlcjpwYXNzd29yZA=="),
    ("postgres://sheshi_app:s3cr3t-pw@db:5432/sheshi", "s3cr3t-pw"),
    ("value gAAAAABnZXRfc2VjcmV0X3ZhbHVlX2VuY3J5cHRlZA== stored", "gAAAAABnZXRfc2VjcmV0X3ZhbHVlX2VuY3J5cHRlZA=="),
    ("Cookie: sessionid=abcdef0123456789; csrftoken=zyx987654321", "abcdef0123456789"),
])
def test_redaction_removes_each_kind_of_secret(text, secret):
    out = redact_text(text)
    assert secret not in out and REDACTED in out


def test_redaction_keeps_the_token_prefix_and_ordinary_text():
    assert redact_text(f"used {TOKEN} ok") == f"used shs_1a2b3c4d_{REDACTED} ok"
    assert redact_text("posted entry 42 for MXA1 amount 100.0000") == "posted entry 42 for MXA1 amount 100.0000"


def test_log_records_are_redacted_in_message_args_extras_and_exceptions():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.security.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("auth header %s", f"Bearer {TOKEN}",
                       extra={"headers": {"Authorization": f"Bearer {TOKEN}", "Accept": "json"},
                              "password": "hunter2-correct-horse"})
        try:
            raise RuntimeError(f"could not connect to postgres://app:s3cr3t-pw@db/x with {TOKEN}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    lines = [json.loads(line) for line in out.splitlines()]
    for secret in (TOKEN.split("_", 2)[2], "hunter2-correct-horse", "s3cr3t-pw"):
        assert secret not in out
    assert lines[0]["headers"] == str({"Authorization": REDACTED, "Accept": "json"})  # the formatter str()s dicts
    assert lines[0]["password"] == REDACTED
    assert "RuntimeError" in lines[1]["exc"] and REDACTED in lines[1]["exc"]


def test_the_console_handler_of_the_settings_redacts():
    from django.conf import settings

    assert "redact" in settings.LOGGING["handlers"]["console"]["filters"]
