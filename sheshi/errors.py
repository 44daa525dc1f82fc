"""Domain errors: every refusal has a stable code, a title, an HTTP status and field errors.

Services raise these; the API renders them as RFC 7807 problem+json (sheshi/api/problems.py).
Database rules raise with a constraint name; ``DB_RULES`` maps those names to the same codes so
a refusal by PostgreSQL reads exactly like one by the service layer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldError:
    field: str
    message: str
    code: str = "invalid"
    row: int | None = None
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "message": self.message, "code": self.code}
        if self.row is not None:
            out["row"] = self.row
        if self.value is not None:
            out["value"] = str(self.value)
        return out


class SheshiError(Exception):
    code = "error"
    title = "The request could not be completed."
    status = 400

    def __init__(self, detail: str | None = None, *, errors: list[FieldError] | None = None,
                 code: str | None = None, status: int | None = None, **context: Any):
        self.detail = detail or self.title
        self.errors = errors or []
        if code:
            self.code = code
        if status:
            self.status = status
        self.context = context
        super().__init__(self.detail)


class ValidationFailed(SheshiError):
    code, title, status = "validation_failed", "The input is not valid.", 400


class NotFound(SheshiError):
    code, title, status = "not_found", "Not found.", 404


class PermissionDenied(SheshiError):
    code, title, status = "permission_denied", "You do not have permission to do this.", 403


class Conflict(SheshiError):
    code, title, status = "conflict", "The request conflicts with the current state.", 409


class RuleViolation(SheshiError):
    """A business rule the database or the service refused (status 422)."""

    code, title, status = "rule_violation", "A business rule refused the change.", 422


class PreconditionFailed(SheshiError):
    """A conditional write whose If-Match no longer names the current version (412)."""

    code, title, status = "precondition_failed", "The resource changed since you read it.", 412


class PreconditionRequired(SheshiError):
    """A write that must be conditional (If-Match) came without a condition (428)."""

    code, title, status = "precondition_required", "This change needs an If-Match header.", 428


class ServiceUnavailable(SheshiError):
    """A part of Sheshi is not configured on this server: nothing the caller can fix (503)."""

    code, title, status = "service_unavailable", "This service is not available on this server.", 503


@dataclass(frozen=True)
class DbRule:
    code: str
    title: str
    status: int = 422


DB_RULES: dict[str, DbRule] = {}


def register_db_rules(rules: dict[str, DbRule]) -> None:
    """Apps register the constraint/trigger names they create, so refusals map to domain codes."""
    DB_RULES.update(rules)


class ConcurrentUpdate(Conflict):
    """PostgreSQL rolled the transaction back because of another one running at the same time
    (deadlock, serialization failure, lock timeout): nothing was written, and the same request —
    with the same Idempotency-Key — can be sent again."""

    code, title = "concurrent_update", "Another change got in the way; nothing was written. Retry the request."


# SQLSTATEs after which the whole transaction is gone and a retry is the answer.
RETRYABLE_SQLSTATES = {"40001": "serialization failure", "40P01": "deadlock detected", "55P03": "lock not available"}


def from_db_error(exc: Exception) -> SheshiError | None:
    """Translate a psycopg/Django database error raised by a named rule into a SheshiError, and a
    transaction lost to a concurrent one into ConcurrentUpdate."""
    cause = getattr(exc, "__cause__", None) or exc
    diag = getattr(cause, "diag", None)
    sqlstate = getattr(cause, "sqlstate", None) or (getattr(diag, "sqlstate", None) if diag else None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return ConcurrentUpdate(f"The database rolled this request back ({RETRYABLE_SQLSTATES[sqlstate]}); "
                                "nothing was written. Send it again.")
    name = getattr(diag, "constraint_name", None) if diag else None
    if not name or name not in DB_RULES:
        return None
    rule = DB_RULES[name]
    message = getattr(diag, "message_primary", None) or rule.title
    err = RuleViolation(message, code=rule.code, status=rule.status, constraint=name)
    err.title = rule.title
    return err


@dataclass
class Problem:
    """Plain container used by the renderer; kept separate so non-exception paths can build one."""

    status: int
    code: str
    title: str
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)
