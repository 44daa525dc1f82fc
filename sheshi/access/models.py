"""API tokens for integrations: only a hash is stored; tokens expire and carry scopes."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class TokenScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)  # shown to users to tell tokens apart
    key_hash = models.CharField(max_length=64)  # sha256 of the secret part; the secret is never stored
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("created_at")),
                                              name="api_token_expires_after_creation")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
