"""The audit trail: an append-only event log per organisation, sealed into a hash chain at commit.

Events are written only by PostgreSQL functions owned by the schema owner (audit/sql/): the audit
triggers on audited tables and ``audit_record()`` for application-level events. The application's
role can read these tables (row-level security scopes them to its organisations) but can neither
insert, update nor delete a row.

Why the chain lives in its own table (``audit_chain``, 1:1 with events) rather than in columns of
``audit_event`` filled in at commit: both tables then stay strictly insert-only for everybody —
there is no "one-time fill of the seal columns" exception for a trigger to allow and for a
tamperer to reuse — and sealing costs one small insert per event instead of an update that would
rewrite the event row and every index on it (the seq index would defeat a HOT update).
"""
from __future__ import annotations

from django.db import models
from django.db.models.functions import Now

from audit.webhook_urls import webhook_url_check
from sheshi.errors import ValidationFailed
from sheshi.security.crypto import EncryptedTextField

ORG_PLATFORM = 0  # events that belong to no organisation (e.g. a failed login for an unknown user)
PLATFORM_CODE = "platform"  # how commands and anchors name chain 0
GENESIS_HASH = "0" * 64


class TxidCurrent(models.Func):
    function = "txid_current"
    template = "%(function)s()"
    output_field = models.BigIntegerField()


class AuditEvent(models.Model):
    """One recorded change or domain event. ``content_hash`` is sha256 over the canonical
    serialisation (audit/canonical.py); its place in the organisation's chain is in AuditChainLink."""

    id = models.BigAutoField(primary_key=True)
    # No foreign key: inserts stay cheap and platform events (organisation 0) need no row.
    organisation_id = models.BigIntegerField(db_index=True)
    occurred_at = models.DateTimeField(db_default=Now())
    txid = models.BigIntegerField(db_default=TxidCurrent(), db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.TextField(null=True, blank=True)
    request_id = models.TextField(null=True, blank=True)
    client_addr = models.TextField(null=True, blank=True)
    action = models.TextField()
    object_type = models.TextField()
    object_id = models.TextField(null=True, blank=True)
    changes = models.JSONField(null=True, blank=True)
    content_hash = models.TextField()

    class Meta:
        db_table = "audit_event"
        ordering = ["-id"]
        indexes = [models.Index(fields=["organisation_id", "occurred_at"], name="audit_event_org_time")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


class AuditChainLink(models.Model):
    """The event's place in its organisation's chain: hash = sha256(content_hash || prev_hash)."""

    event_id = models.BigIntegerField(primary_key=True)
    organisation_id = models.BigIntegerField()
    seq = models.BigIntegerField()
    prev_hash = models.TextField()
    hash = models.TextField()

    class Meta:
        db_table = "audit_chain"
        constraints = [models.UniqueConstraint(fields=["organisation_id", "seq"], name="audit_chain_org_seq_unique")]

    def __str__(self) -> str:
        return f"org {self.organisation_id} seq {self.seq} → event {self.event_id}"


class AuditChainHead(models.Model):
    """The last sealed link of each organisation's chain; its row lock serialises sealing."""

    organisation_id = models.BigIntegerField(primary_key=True)
    seq = models.BigIntegerField()
    hash = models.TextField()
    event_id = models.BigIntegerField(null=True)
    sealed_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "audit_chain_head"

    def __str__(self) -> str:
        return f"org {self.organisation_id} head seq {self.seq}"


class AuditPending(models.Model):
    """A marker row per transaction that wrote events; a deferred constraint trigger on it seals
    the transaction's events at commit and deletes the marker."""

    txid = models.BigIntegerField(primary_key=True)

    class Meta:
        db_table = "audit_pending"

    def __str__(self) -> str:
        return f"pending txid {self.txid}"


class WebhookSubscription(models.Model):
    """An external system that receives the organisation's audit events, in sequence order.

    Configuration only (audited like any tenant table); the delivery cursor lives in
    WebhookState, which is operational and not audited — otherwise every delivery would write an
    event that would itself need delivering."""

    organisation = models.ForeignKey("tenancy.Organisation", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    # Action patterns (fnmatch): "journal_entry.*", "insert", "period.locked"; empty = every event.
    event_types = models.JSONField(default=list, blank=True)
    secret = EncryptedTextField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="webhook_name_unique_in_org")]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"

    def clean(self) -> None:
        """Admin edits go through the same URL rule as the service (audit/webhook_urls.py)."""
        from django.core.exceptions import ValidationError

        try:
            webhook_url_check(self.url)
        except ValidationFailed as exc:
            raise ValidationError({"url": exc.errors[0].message}) from None


class WebhookStatus(models.TextChoices):
    ACTIVE = "active", "active"
    RETRYING = "retrying", "retrying"
    DEAD_LETTER = "dead_letter", "dead letter"


class WebhookState(models.Model):
    """Where a subscriber stands: the last sequence number it acknowledged, and its retry state."""

    subscription = models.OneToOneField(WebhookSubscription, on_delete=models.CASCADE, primary_key=True,
                                        related_name="state")
    organisation_id = models.BigIntegerField(db_index=True)
    cursor_seq = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=WebhookStatus.choices, default=WebhookStatus.ACTIVE)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(cursor_seq__gte=0), name="webhook_cursor_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} at seq {self.cursor_seq} ({self.status})"
