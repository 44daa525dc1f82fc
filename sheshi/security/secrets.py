"""Secrets come from the environment or a secrets provider — never from the repository.

``get_secret(name)`` asks the configured provider:

* ``SHESHI_SECRETS_PROVIDER=env`` (default): the process environment.
* ``SHESHI_SECRETS_PROVIDER=aws``: one AWS Secrets Manager secret holding a JSON object
  (``SHESHI_AWS_SECRET_ID``, region from ``SHESHI_AWS_REGION`` or the usual AWS variables),
  read once per process; names missing from it fall back to the environment, so non-secret
  configuration can stay there. boto3 is imported only when this provider is used and is not a
  dependency of Sheshi: install it in deployments that use it.

Settings call this at import time, so a missing secret stops the process with its name.
"""
from __future__ import annotations

import json
import os
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured

_NOTSET = object()


class SecretsProvider(Protocol):
    def get(self, name: str) -> str | None: ...


class EnvSecrets:
    def __init__(self, environ=None):
        self.environ = os.environ if environ is None else environ

    def get(self, name: str) -> str | None:
        return self.environ.get(name)


class AwsSecretsManager:
    """Reads one JSON secret from AWS Secrets Manager, lazily, once."""

    def __init__(self, secret_id: str, region: str | None = None, client=None):
        if not secret_id:
            raise ImproperlyConfigured("SHESHI_AWS_SECRET_ID must name the secret to read.")
        self.secret_id, self.region, self._client, self._values = secret_id, region, client, None

    def _load(self) -> dict[str, str]:
        if self._values is None:
            client = self._client
            if client is None:
                try:
                    import boto3  # optional: only deployments using AWS install it
                except ImportError as exc:
                    raise ImproperlyConfigured("SHESHI_SECRETS_PROVIDER=aws needs boto3 installed.") from exc
                client = boto3.client("secretsmanager", region_name=self.region)
            raw = client.get_secret_value(SecretId=self.secret_id)["SecretString"]
            values = json.loads(raw)
            if not isinstance(values, dict):
                raise ImproperlyConfigured(f"Secret {self.secret_id} must hold a JSON object of name → value.")
            self._values = {str(k): str(v) for k, v in values.items()}
        return self._values

    def get(self, name: str) -> str | None:
        return self._load().get(name)


class ChainedSecrets:
    def __init__(self, *providers: SecretsProvider):
        self.providers = providers

    def get(self, name: str) -> str | None:
        for provider in self.providers:
            value = provider.get(name)
            if value is not None:
                return value
        return None


_provider: SecretsProvider | None = None


def provider_from_environment(environ=None) -> SecretsProvider:
    environ = os.environ if environ is None else environ
    kind = environ.get("SHESHI_SECRETS_PROVIDER", "env").strip().lower()
    if kind == "env":
        return EnvSecrets(environ)
    if kind == "aws":
        region = environ.get("SHESHI_AWS_REGION") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
        return ChainedSecrets(AwsSecretsManager(environ.get("SHESHI_AWS_SECRET_ID", ""), region), EnvSecrets(environ))
    raise ImproperlyConfigured(f"Unknown SHESHI_SECRETS_PROVIDER {kind!r} (use 'env' or 'aws').")


def get_provider() -> SecretsProvider:
    global _provider
    if _provider is None:
        _provider = provider_from_environment()
    return _provider


def set_provider(provider: SecretsProvider | None) -> None:
    """Install a provider (tests, or a deployment's own); ``None`` re-reads the environment."""
    global _provider
    _provider = provider


def get_secret(name: str, default=_NOTSET) -> str:
    value = get_provider().get(name)
    if value is None or value == "":
        if default is _NOTSET:
            raise ImproperlyConfigured(f"Secret {name} is not set (environment or secrets provider).")
        return default
    return value


def get_secret_list(name: str) -> list[str]:
    return [v.strip() for v in get_secret(name, "").split(",") if v.strip()]
