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

ORG_PLATFORM = 0  # events that belong to no organisation (e.g. a failed login for an unknown user)
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
