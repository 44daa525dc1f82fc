"""Stored answers of create requests sent with an Idempotency-Key (sheshi/api/idempotency.py)."""
from django.conf import settings
from django.db import models


class IdempotencyRecord(models.Model):
    """One key of one user: the request it was first used with (method, path and a hash of the
    body) and, once the request succeeded, the answer a retry gets back. A record without a
    ``status_code`` belongs to a request still running, or one that died (abandoned); records are
    purged after SHESHI_IDEMPOTENCY_RETENTION_HOURS."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="api_idempotency_created_idx")]  # the hourly purge

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
