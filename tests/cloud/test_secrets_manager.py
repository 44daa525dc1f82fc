"""Secrets from AWS Secrets Manager (moto server): with SHESHI_AWS_SECRET_ID the production settings
take their secrets — database URLs included — from one secret, fetched once at start-up; a key
missing from it, or a secret that cannot be read, stops the process with a message naming it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from sheshi.security import secrets
from tests.cloud.conftest import FAKE_CREDENTIALS, REGION

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAMES = ("SECRET_KEY", "SHESHI_FIELD_KEYS", "SHESHI_AUDIT_SIGNING_KEY", "DATABASE_URL", "DATABASE_OWNER_URL",
                "SHESHI_METRICS_TOKEN")

CHILD = r"""
import json
import django
django.setup()
from django.conf import settings
from sheshi.security import secrets
provider = secrets.get_provider()
aws = provider.providers[0]
print(json.dumps({"secret_key": settings.SECRET_KEY, "field_keys": settings.SHESHI_FIELD_KEYS,
                  "signing_key": settings.SHESHI_AUDIT_SIGNING_KEY, "metrics": settings.SHESHI_METRICS_TOKEN,
                  "db": [settings.DATABASES["default"][k] for k in ("USER", "PASSWORD", "HOST", "PORT", "NAME")],
                  "owner_user": settings.OWNER_DATABASE["USER"], "loads": aws.loads}))
"""


@pytest.fixture
def secret(aws):
    """A fresh secret holding every secret setting of the production profile."""
    name = f"sheshi/test-{uuid.uuid4().hex[:8]}"
    values = {"SECRET_KEY": "s" * 20 + "Q9#kLm2$vX7@nB4&wZ1!rT6^yU3*hJ8%",
              "SHESHI_FIELD_KEYS": Fernet.generate_key().decode(),
              "SHESHI_AUDIT_SIGNING_KEY": "signing-from-aws", "SHESHI_METRICS_TOKEN": "metrics-from-aws",
              "DATABASE_URL": "postgres://app_from_aws:pw1@db.internal:5433/sheshi_aws",
              "DATABASE_OWNER_URL": "postgres://owner_from_aws:pw2@db.internal:5433/sheshi_aws"}
    aws("secretsmanager").create_secret(Name=name, SecretString=json.dumps(values))
    return name, values


def _start_prod(moto_endpoint: str, secret_id: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (*SECRET_NAMES, "DEBUG", "DATABASE_ADMIN_URL")}
    env.update(FAKE_CREDENTIALS)
    env.update({"DJANGO_SETTINGS_MODULE": "sheshi.settings.prod", "ALLOWED_HOSTS": "sheshi.example.com",
                "SHESHI_AWS_SECRET_ID": secret_id, "SHESHI_AWS_REGION": REGION,
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint})  # boto3's own per-service endpoint variable
    return subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_settings_take_every_secret_from_one_secrets_manager_call(moto_endpoint, secret):
    name, values = secret
    result = _start_prod(moto_endpoint, name)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got["secret_key"] == values["SECRET_KEY"]
    assert got["field_keys"] == [values["SHESHI_FIELD_KEYS"]]
    assert got["signing_key"] == "signing-from-aws" and got["metrics"] == "metrics-from-aws"
    assert got["db"] == ["app_from_aws", "pw1", "db.internal", 5433, "sheshi_aws"]
    assert got["owner_user"] == "owner_from_aws"
    assert got["loads"] == 1  # six settings, one GetSecretValue


def test_a_key_missing_from_the_secret_stops_start_up_naming_the_key_and_the_secret(moto_endpoint, aws):
    name = f"sheshi/test-{uuid.uuid4().hex[:8]}"
    aws("secretsmanager").create_secret(Name=name, SecretString=json.dumps({"SHESHI_FIELD_KEYS": "x"}))
    result = _start_prod(moto_endpoint, name)
    assert result.returncode != 0
    assert f"Secret SECRET_KEY is not set: not in AWS Secrets Manager secret '{name}' or the environment" \
        in result.stderr


def test_an_unreadable_secret_stops_start_up_naming_the_secret_and_the_aws_error(moto_endpoint):
    result = _start_prod(moto_endpoint, "sheshi/does-not-exist")
    assert result.returncode != 0
    assert "Cannot read AWS Secrets Manager secret 'sheshi/does-not-exist' (SHESHI_AWS_SECRET_ID): " \
           "ResourceNotFoundException" in result.stderr


def test_the_provider_caches_the_secret_for_the_process(moto_endpoint, secret):
    name, values = secret
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_endpoint)
    provider = secrets.provider_from_environment({"SHESHI_AWS_SECRET_ID": name})
    provider.providers[0]._client = client
    assert [provider.get(k) for k in ("SECRET_KEY", "DATABASE_URL", "SECRET_KEY")] == [
        values["SECRET_KEY"], values["DATABASE_URL"], values["SECRET_KEY"]]
    client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert provider.get("SHESHI_METRICS_TOKEN") == "metrics-from-aws"  # served from the cache
    assert provider.providers[0].loads == 1


def test_an_explicit_env_provider_ignores_the_secret_id():
    provider = secrets.provider_from_environment({"SHESHI_SECRETS_PROVIDER": "env", "SHESHI_AWS_SECRET_ID": "x",
                                                  "SECRET_KEY": "k"})
    assert isinstance(provider, secrets.EnvSecrets) and provider.get("SECRET_KEY") == "k"
    with pytest.raises(ImproperlyConfigured, match="Unknown SHESHI_SECRETS_PROVIDER"):
        secrets.provider_from_environment({"SHESHI_SECRETS_PROVIDER": "vault"})
