"""The error contract in the OpenAPI schema: every operation lists the problem responses it can
answer, each a problem+json document whose ``code`` is one of the declared error codes.

Components added to the schema:

* ``ErrorCodeEnum`` — every code of every app's ``ErrorCode`` enum (sheshi/errors.py), with its
  status and title in the description;
* ``Problem`` / ``FieldProblem`` — the RFC 7807 body sheshi/api/problems.py renders;
* ``responses/Problem<status>`` — one response per status, with an example for each code that
  answers with that status (so a client sees, per status, which codes to expect).

Which statuses an operation documents follows from what the request pipeline can answer for it:
authentication, permissions, lookups, throttling and content negotiation for every operation;
validation, conflicts and business rules for writes; If-Match outcomes where the view honours
it; and any ``extra_error_statuses`` a view declares (the evidence export's 503).
"""
from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent

from sheshi.api.conditional import ETAG_HEADER, if_match_parameter
from sheshi.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, REPLAYED_HEADER_PARAMETER
from sheshi.api.problems import PROBLEM_CONTENT_TYPE, TYPE_BASE
from sheshi.errors import error_codes

EVERY_OPERATION = (400, 401, 403, 404, 406, 429)
WRITE_OPERATION = (409, 413, 415, 422)
CONDITIONAL_WRITE = (412,)
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def codes_by_status() -> dict[int, list]:
    out: dict[int, list] = {}
    for member in sorted(error_codes().values(), key=lambda m: m.code):
        out.setdefault(member.status, []).append(member)
    return out


def error_code_enum_schema() -> dict:
    members = sorted(error_codes().values(), key=lambda m: m.code)
    table = "\n".join(f"* `{m.code}` — {m.status}: {m.title}" for m in members)
    return {"type": "string", "enum": [m.code for m in members],
            "description": "Every error code Sheshi answers with; each has one HTTP status and title.\n\n" + table}


FIELD_PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "field": {"type": "string", "description": "The field (or file/row) at fault, e.g. lines[1].amount"},
        "message": {"type": "string"},
        "code": {"type": "string", "description": "What is wrong with the field (not an ErrorCodeEnum value)"},
        "row": {"type": "integer", "description": "Source row, for imports"},
        "value": {"type": "string", "description": "The offending value, as text"},
    },
    "required": ["field", "message", "code"],
}


def problem_schema(enum_ref: dict, field_ref: dict) -> dict:
    return {
        "type": "object",
        "description": "RFC 7807 problem details (application/problem+json).",
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": enum_ref,
            "errors": {"type": "array", "items": field_ref},
            "request_id": {"type": "string", "nullable": True},
        },
        "required": ["type", "title", "status", "detail", "code", "errors"],
    }


def example_body(member) -> dict:
    return {"type": TYPE_BASE + member.code, "title": member.title, "status": member.status,
            "detail": member.title, "code": member.code, "errors": [], "request_id": "3f2c9a1e0b7d4e55"}


def error_statuses(*statuses: int):
    """Declare on a view method the problem statuses it answers beyond the defaults (e.g. a read
    refused by the state of its object)."""

    def mark(handler):
        handler.extra_error_statuses = statuses
        return handler

    return mark


class SheshiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the problem responses of every operation."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            responses.setdefault(str(status), self._problem_response(status).ref)
        return responses

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if getattr(self._handler(), "idempotent", False):
            params += [IDEMPOTENCY_KEY_PARAMETER, REPLAYED_HEADER_PARAMETER]
        if self._conditional():
            # First, so a view's own If-Match (the drafts' required one) takes its place.
            params.insert(0, if_match_parameter(required=self._if_match_required()))
        if self._conditional() or (self.method == "GET" and getattr(self.view, "conditional_writes", False)
                                   and getattr(self.view, "action", None) == "retrieve"):
            params.append(ETAG_HEADER)
        return params

    def _conditional(self) -> bool:
        """A write to one editable object: its path names the object and its view honours If-Match."""
        view = self.view
        lookup = view.lookup_url_kwarg or view.lookup_field if hasattr(view, "lookup_field") else None
        return bool(getattr(view, "conditional_writes", False) and self.method in WRITE_METHODS and lookup
                    and ("{" + lookup + "}" in self.path or (lookup == "pk" and "{id}" in self.path)))

    def _if_match_required(self) -> bool:
        return self.view.if_match_required_for(getattr(self.view, "action", None))

    def _handler(self):
        action = getattr(self.view, "action", None)
        return getattr(self.view, action, None) if action else getattr(self.view, self.method.lower(), None)

    def error_statuses(self) -> list[int]:
        statuses = set(EVERY_OPERATION)
        if self.method in WRITE_METHODS:
            statuses |= set(WRITE_OPERATION)
        if self._conditional():
            statuses |= set(CONDITIONAL_WRITE)
        if self._conditional() and self._if_match_required():
            statuses.add(428)
        statuses |= set(getattr(self.view, "extra_error_statuses", ()))
        statuses |= set(getattr(self._handler(), "extra_error_statuses", ()))
        return sorted(statuses)

    def _components(self) -> tuple[ResolvedComponent, ResolvedComponent]:
        enum = ResolvedComponent("ErrorCodeEnum", ResolvedComponent.SCHEMA, object="ErrorCodeEnum",
                                 schema=error_code_enum_schema())
        self.registry.register_on_missing(enum)
        field = ResolvedComponent("FieldProblem", ResolvedComponent.SCHEMA, object="FieldProblem",
                                  schema=FIELD_PROBLEM_SCHEMA)
        self.registry.register_on_missing(field)
        problem = ResolvedComponent("Problem", ResolvedComponent.SCHEMA, object="Problem",
                                    schema=problem_schema(enum.ref, field.ref))
        self.registry.register_on_missing(problem)
        return problem, enum

    def _problem_response(self, status: int) -> ResolvedComponent:
        problem, _ = self._components()
        members = codes_by_status().get(status, [])
        content = {"schema": problem.ref}
        if members:
            content["examples"] = {m.code: {"summary": m.title, "value": example_body(m)} for m in members}
        codes = ", ".join(f"`{m.code}`" for m in members)
        component = ResolvedComponent(
            f"Problem{status}", ResolvedComponent.RESPONSE, object=f"Problem{status}",
            schema={"description": f"{HTTPStatus(status).phrase}: a problem document"
                                   + (f" with code {codes}." if codes else "."),
                    "content": {PROBLEM_CONTENT_TYPE: content}})
        self.registry.register_on_missing(component)
        return component
