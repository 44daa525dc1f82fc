"""Encryption at rest for sensitive fields (bank account numbers, tax ids).

Values are stored as Fernet tokens (AES-128-CBC + HMAC-SHA256, random IV, authenticated). Keys
come from ``SHESHI_FIELD_KEYS`` (environment or secrets provider): comma-separated Fernet keys,
the first encrypts, all decrypt, so a key is rotated by putting a new key first, running
``manage.py rotate_field_keys`` and then dropping the old key. Without a key every read and write
of an encrypted field fails loudly: nothing is ever stored in clear by accident.

Encrypted columns cannot be searched or compared in SQL (every token is different); only
``isnull`` lookups are allowed, so a filter that could never match is refused instead.
"""
from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class FieldKeyError(ImproperlyConfigured):
    """Encryption keys missing, malformed, or unable to decrypt a stored value."""


@lru_cache(maxsize=8)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise FieldKeyError("SHESHI_FIELD_KEYS is not set: encrypted fields can be neither read nor written. "
                            "Generate a key with `manage.py rotate_field_keys --generate` (see SECURITY.md).")
    try:
        return MultiFernet([Fernet(k.strip().encode()) for k in keys])
    except (ValueError, TypeError) as exc:
        raise FieldKeyError("SHESHI_FIELD_KEYS holds a malformed key (expected url-safe base64 of 32 bytes).") \
            from exc


def field_keys() -> tuple[str, ...]:
    return tuple(k for k in (settings.SHESHI_FIELD_KEYS or []) if k.strip())


def cipher() -> MultiFernet:
    return _multifernet(field_keys())


def primary_cipher() -> Fernet:
    keys = field_keys()
    cipher()  # validates
    return Fernet(keys[0].strip().encode())


def encrypt(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, where: str = "an encrypted field") -> str:
    try:
        return cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise FieldKeyError(f"Cannot decrypt {where}: no configured key matches (was a key dropped before "
                            "rotate_field_keys finished?).") from exc


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def mask(value: str | None, *, visible: int = 4) -> str:
    """``DE89370400440532013000`` → ``••••••••••••••••••3000``: enough to recognise, not to use."""
    if not value:
        return ""
    compact = value.replace(" ", "")
    if len(compact) <= visible:
        return "•" * len(compact)
    return "•" * (len(compact) - visible) + compact[-visible:]


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python code sees the plaintext."""

    description = "Text encrypted at rest (Fernet)"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return decrypt(value, where=f"{self.model._meta.db_table}.{self.column}")

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt(str(value))

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            raise FieldKeyError(f"Encrypted field {self.name} cannot be searched with '{lookup_name}'.")
        return super().get_lookup(lookup_name)


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every (model, field) pair in the project that stores encrypted values."""
    from django.apps import apps

    return [(model, f) for model in apps.get_models() for f in model._meta.concrete_fields
            if isinstance(f, EncryptedTextField)]
