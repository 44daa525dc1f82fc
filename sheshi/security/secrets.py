"""Secrets come from the environment or a secrets provider — never from the repository.

``get_secret(name)`` asks the configured provider:

* the process environment (the default);
* AWS Secrets Manager when ``SHESHI_AWS_SECRET_ID`` names a secret (or
  ``SHESHI_SECRETS_PROVIDER=aws``): one secret holding a JSON object of name → value, fetched with
  one ``GetSecretValue`` call the first time a setting asks and cached for the life of the process
  (region from ``SHESHI_AWS_REGION`` or the usual AWS variables; boto3's own
  ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` points it elsewhere, e.g. a local test server). Names missing
  from the secret fall back to the environment, so non-secret configuration can stay there.

Settings call this at import time, so a missing secret stops the process with its name and where
it was looked for; a secret that cannot be read stops it with the secret's id and AWS's error code.
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

    def describe(self) -> str:
        return "the environment"


class AwsSecretsManager:
    """Reads one JSON secret from AWS Secrets Manager, lazily, once (``loads`` counts the calls)."""

    def __init__(self, secret_id: str, region: str | None = None, client=None):
        if not secret_id:
            raise ImproperlyConfigured("SHESHI_AWS_SECRET_ID must name the secret to read.")
        self.secret_id, self.region, self._client, self._values = secret_id, region, client, None
        self.loads = 0

    def _load(self) -> dict[str, str]:
        if self._values is None:
            client = self._client
            if client is None:
                try:
                    import boto3
                except ImportError as exc:
                    raise ImproperlyConfigured("SHESHI_AWS_SECRET_ID needs boto3 installed.") from exc
                client = boto3.client("secretsmanager", region_name=self.region)
            self.loads += 1
            try:
                raw = client.get_secret_value(SecretId=self.secret_id)["SecretString"]
            except Exception as exc:  # botocore's ClientError/EndpointConnectionError: say which secret, why
                code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
                raise ImproperlyConfigured(f"Cannot read AWS Secrets Manager secret {self.secret_id!r} "
                                           f"(SHESHI_AWS_SECRET_ID): {code}.") from exc
            try:
                values = json.loads(raw)
            except ValueError:
                values = None
            if not isinstance(values, dict):
                raise ImproperlyConfigured(f"Secret {self.secret_id} must hold a JSON object of name → value.")
            self._values = {str(k): str(v) for k, v in values.items()}
        return self._values

    def get(self, name: str) -> str | None:
        return self._load().get(name)

    def describe(self) -> str:
        return f"AWS Secrets Manager secret {self.secret_id!r}"


class ChainedSecrets:
    def __init__(self, *providers: SecretsProvider):
        self.providers = providers

    def describe(self) -> str:
        return " or ".join(_describe(p) for p in self.providers)

    def get(self, name: str) -> str | None:
        for provider in self.providers:
            value = provider.get(name)
            if value is not None:
                return value
        return None


_provider: SecretsProvider | None = None


def provider_from_environment(environ=None) -> SecretsProvider:
    environ = os.environ if environ is None else environ
    default = "aws" if environ.get("SHESHI_AWS_SECRET_ID", "").strip() else "env"
    kind = (environ.get("SHESHI_SECRETS_PROVIDER", "") or default).strip().lower()
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


def _describe(provider) -> str:
    describe = getattr(provider, "describe", None)
    return describe() if describe else type(provider).__name__


def get_secret(name: str, default=_NOTSET) -> str:
    value = get_provider().get(name)
    if value is None or value == "":
        if default is _NOTSET:
            raise ImproperlyConfigured(f"Secret {name} is not set: not in {_describe(get_provider())}.")
        return default
    return value


def get_secret_list(name: str) -> list[str]:
    return [v.strip() for v in get_secret(name, "").split(",") if v.strip()]
