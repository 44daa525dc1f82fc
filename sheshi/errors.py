"""Domain errors: every refusal has a stable code, a title, an HTTP status and field errors.

The codes are declared once, as enums: ``CommonErrorCode`` below for the codes every app (and
the HTTP layer) shares, and one ``ErrorCode`` enum in each app's ``errors.py`` for its own. A code
fixes its HTTP status and title: a ``SheshiError`` raised with that code, a database rule mapped
to it (``register_db_rules``) and the OpenAPI schema (sheshi/api/error_schema.py) all read them
from the one member, so the same refusal gives the same problem document whichever layer
catches it (issue #15 item 6).

Services raise ``SheshiError``s; the API renders them as RFC 7807 problem+json
(sheshi/api/problems.py). Database rules raise with a constraint name; ``DB_RULES`` maps those
names to the codes.
"""
from __future__ import annotations

import enum
import functools
import importlib
from dataclasses import dataclass
from typing import Any


class ErrorCode(enum.Enum):
    """Base of the error-code enums: each member is ``(code, HTTP status, title)``; its value is
    the code, so ``LedgerErrorCode("entry_unbalanced")`` finds it."""

    def __new__(cls, code: str, status: int, title: str):
        member = object.__new__(cls)
        member._value_ = code
        member.status = status
        member.title = title
        return member

    @property
    def code(self) -> str:
        return self.value


@enum.unique
class CommonErrorCode(ErrorCode):
    """Codes of the HTTP layer and of refusals more than one app raises."""

    VALIDATION_FAILED = ("validation_failed", 400, "The input is not valid.")
    BAD_REQUEST = ("bad_request", 400, "Bad request.")
    PARSE_ERROR = ("parse_error", 400, "Malformed request.")
    NOT_AUTHENTICATED = ("not_authenticated", 401, "Authentication credentials were not provided.")
    AUTHENTICATION_FAILED = ("authentication_failed", 401, "Incorrect authentication credentials.")
    PERMISSION_DENIED = ("permission_denied", 403, "You do not have permission to do this.")
    SESSION_REQUIRED = ("session_required", 403, "This needs a signed-in session, not an API token.")
    SEGREGATION_OF_DUTIES = ("segregation_of_duties", 403, "The same person cannot do both steps of this change.")
    NOT_FOUND = ("not_found", 404, "Not found.")
    METHOD_NOT_ALLOWED = ("method_not_allowed", 405, "Method not allowed.")
    NOT_ACCEPTABLE = ("not_acceptable", 406, "Could not satisfy the request's Accept header.")
    CONFLICT = ("conflict", 409, "The request conflicts with the current state.")
    CONCURRENT_UPDATE = ("concurrent_update", 409, "Another change got in the way; nothing was written. "
                                                   "Retry the request.")
    IDEMPOTENCY_KEY_REUSED = ("idempotency_key_reused", 409,
                              "This Idempotency-Key was used with a different request body.")
    IDEMPOTENCY_KEY_IN_USE = ("idempotency_key_in_use", 409,
                              "A request with this Idempotency-Key is still being processed.")
    IDEMPOTENCY_KEY_ABANDONED = ("idempotency_key_abandoned", 409,
                                 "A request with this Idempotency-Key stopped before its answer was kept; "
                                 "whether it took effect is not known.")
    PRECONDITION_FAILED = ("precondition_failed", 412, "The resource changed since you read it.")
    PAYLOAD_TOO_LARGE = ("payload_too_large", 413, "Request body too large.")
    UNSUPPORTED_MEDIA_TYPE = ("unsupported_media_type", 415, "Unsupported media type in the request.")
    RULE_VIOLATION = ("rule_violation", 422, "A business rule refused the change.")
    REASON_REQUIRED = ("reason_required", 422, "A written reason is required.")
    PERIOD_LOCKED = ("period_locked", 422, "The period is locked.")
    REFERENCE_MISSING = ("reference_missing", 422, "The row references a row that does not exist.")
    ENTITY_ORGANISATION_FIXED = ("entity_organisation_fixed", 409, "An entity cannot change organisation.")
    HISTORY_ROW_FORGED = ("history_row_forged", 422, "A history row must record this change.")
    PRECONDITION_REQUIRED = ("precondition_required", 428, "This change needs an If-Match header.")
    THROTTLED = ("throttled", 429, "Request was throttled.")
    SERVER_ERROR = ("server_error", 500, "Internal error.")
    SERVICE_UNAVAILABLE = ("service_unavailable", 503, "This service is not available on this server.")


# The modules that declare error codes; imported by ``error_codes()`` so the registry is whole
# whatever has been imported so far. An app adds its errors module here.
ERROR_MODULES = ("sheshi.errors", "ledger.errors", "ledger.imports.errors", "periods.errors",
                 "consolidation.errors", "consolidation.engine.errors", "audit.errors")


def _enum_classes() -> list[type[ErrorCode]]:
    for module in ERROR_MODULES:
        importlib.import_module(module)
    found: list[type[ErrorCode]] = []
    todo = list(ErrorCode.__subclasses__())
    while todo:
        cls = todo.pop(0)
        found.append(cls)
        todo += cls.__subclasses__()
    return found


@functools.cache
def error_codes() -> dict[str, ErrorCode]:
    """Every error code of every app, by code. A code is declared in one enum only."""
    out: dict[str, ErrorCode] = {}
    for cls in _enum_classes():
        for member in cls:
            if member.code in out and out[member.code] is not member:
                raise ValueError(f"Error code {member.code!r} is in both {type(out[member.code]).__name__} "
                                 f"and {cls.__name__}: declare it once (CommonErrorCode if apps share it).")
            out[member.code] = member
    return out


def error_code(code: str | ErrorCode) -> ErrorCode | None:
    if isinstance(code, ErrorCode):
        return code
    return error_codes().get(code)


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
    """A refusal. Subclasses name their code with ``error = <enum member>``; a raise may pass
    another ``code=`` (an enum member, or a declared code's string), whose status and title then
    apply: one code, one status, one title."""

    error: ErrorCode = CommonErrorCode.BAD_REQUEST
    code = error.code
    title = error.title
    status = error.status

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "error" in cls.__dict__:
            cls.code, cls.title, cls.status = cls.error.code, cls.error.title, cls.error.status

    def __init__(self, detail: str | None = None, *, errors: list[FieldError] | None = None,
                 code: str | ErrorCode | None = None, **context: Any):
        if code is not None:
            member = error_code(code)
            if member is None:
                raise LookupError(f"Undeclared error code {code!r}: add it to its app's ErrorCode enum.")
            self.error, self.code, self.title, self.status = member, member.code, member.title, member.status
        self.detail = detail or self.title
        self.errors = errors or []
        self.context = context
        super().__init__(self.detail)


class ValidationFailed(SheshiError):
    error = CommonErrorCode.VALIDATION_FAILED


class NotFound(SheshiError):
    error = CommonErrorCode.NOT_FOUND


class PermissionDenied(SheshiError):
    error = CommonErrorCode.PERMISSION_DENIED


class Conflict(SheshiError):
    error = CommonErrorCode.CONFLICT


class RuleViolation(SheshiError):
    """A business rule the database or the service refused (status 422)."""

    error = CommonErrorCode.RULE_VIOLATION


class PreconditionFailed(SheshiError):
    """A conditional write whose If-Match no longer names the current version (412)."""

    error = CommonErrorCode.PRECONDITION_FAILED


class PreconditionRequired(SheshiError):
    """A write that must be conditional (If-Match) came without a condition (428)."""

    error = CommonErrorCode.PRECONDITION_REQUIRED


class ServiceUnavailable(SheshiError):
    """A part of Sheshi is not configured on this server: nothing the caller can fix (503)."""

    error = CommonErrorCode.SERVICE_UNAVAILABLE


# Database rule (constraint or RAISE'd trigger) name → the code its refusal answers with.
DB_RULES: dict[str, ErrorCode] = {}


def register_db_rules(rules: dict[str, ErrorCode]) -> None:
    """Apps register the constraint/trigger names they create, so refusals map to domain codes."""
    DB_RULES.update(rules)


register_db_rules({
    "tenancy_entity_organisation_fixed": CommonErrorCode.ENTITY_ORGANISATION_FIXED,
    "tenancy_permission_grant_refused": CommonErrorCode.PERMISSION_DENIED,
    "sheshi_history_row_forged": CommonErrorCode.HISTORY_ROW_FORGED,
})


class ConcurrentUpdate(Conflict):
    """PostgreSQL rolled the transaction back because of another one running at the same time
    (deadlock, serialization failure, lock timeout): nothing was written, and the same request —
    with the same Idempotency-Key — can be sent again."""

    error = CommonErrorCode.CONCURRENT_UPDATE


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
    return RuleViolation(message, code=rule, constraint=name)
