"""Audit refusals. Database rule names map to these codes (sheshi.errors.DB_RULES)."""
from sheshi.errors import Conflict, DbRule, RuleViolation, register_db_rules


class AuditDigestInvalidError(RuleViolation):
    code, title, status = "audit_digest_invalid", "The audit digest does not verify.", 422


class AuditAnchorRegressionError(Conflict):
    """The database no longer reaches the latest anchor: no new anchor is written over the evidence."""

    code, title, status = "audit_anchor_regression", "The audit trail falls short of its latest anchor.", 409


register_db_rules({
    "audit_actor_required": DbRule("actor_required", "A change needs an acting user or system actor.", 403),
    "audit_truncate_refused": DbRule("audit_truncate_refused", "Audited tables cannot be truncated.", 409),
    "audit_event_append_only": DbRule("audit_append_only", "Audit events cannot change.", 409),
    "audit_chain_append_only": DbRule("audit_append_only", "The audit chain cannot change.", 409),
    "audit_event_out_of_scope": DbRule("not_found", "Not found.", 404),
    "audit_event_incomplete": DbRule("audit_event_incomplete", "An audit event needs an action and an object.", 422),
})
