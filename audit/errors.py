"""Audit refusals: the audit app's error codes (one enum) and the database rules mapped to them."""
import enum

from sheshi.errors import CommonErrorCode, Conflict, ErrorCode, RuleViolation, register_db_rules


@enum.unique
class AuditErrorCode(ErrorCode):
    DIGEST_INVALID = ("audit_digest_invalid", 422, "The audit digest does not verify.")
    ANCHOR_REGRESSION = ("audit_anchor_regression", 409, "The audit trail falls short of its latest anchor.")
    ACTOR_REQUIRED = ("actor_required", 403, "A change needs an acting user or system actor.")
    TRUNCATE_REFUSED = ("audit_truncate_refused", 409, "Audited tables cannot be truncated.")
    APPEND_ONLY = ("audit_append_only", 409, "Audit events and the audit chain cannot change.")
    EVENT_INCOMPLETE = ("audit_event_incomplete", 422, "An audit event needs an action and an object.")
    SIGNING_KEY_MISSING = ("audit_signing_key_missing", 503, "This server has no usable audit signing key.")


class AuditDigestInvalidError(RuleViolation):
    error = AuditErrorCode.DIGEST_INVALID


class AuditAnchorRegressionError(Conflict):
    """The database no longer reaches the latest anchor: no new anchor is written over the evidence."""

    error = AuditErrorCode.ANCHOR_REGRESSION


register_db_rules({
    "audit_actor_required": AuditErrorCode.ACTOR_REQUIRED,
    "audit_truncate_refused": AuditErrorCode.TRUNCATE_REFUSED,
    "audit_event_append_only": AuditErrorCode.APPEND_ONLY,
    "audit_chain_append_only": AuditErrorCode.APPEND_ONLY,
    # Another organisation's event is not there, as far as the caller can tell.
    "audit_event_out_of_scope": CommonErrorCode.NOT_FOUND,
    "audit_event_incomplete": AuditErrorCode.EVENT_INCOMPLETE,
})
