"""The error-code enums (issue #15 item 6, #18 item 2): every code a refusal can carry is declared
once, with one status and one title, and every raise names a declared code."""
from __future__ import annotations

import ast
import pathlib

import pytest

from sheshi.errors import DB_RULES, CommonErrorCode, ErrorCode, SheshiError, error_codes

ROOT = pathlib.Path(__file__).resolve().parents[2]
APP_DIRS = ("sheshi", "ledger", "periods", "consolidation", "audit")


def _sheshi_error_names() -> set[str]:
    names, todo = set(), [SheshiError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


def _code_literals_raised() -> list[tuple[str, int, str]]:
    """(file, line, code) of every ``<SheshiError subclass>(..., code="...")`` in the apps."""
    error_classes = _sheshi_error_names()
    found = []
    for folder in APP_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name not in error_classes:
                    continue
                for kw in node.keywords:
                    if kw.arg == "code" and isinstance(kw.value, ast.Constant):
                        found.append((str(path.relative_to(ROOT)), node.lineno, kw.value.value))
    return found


def test_every_code_a_service_raises_is_declared_in_an_error_code_enum():
    literals = _code_literals_raised()
    assert len(literals) > 20  # the scan sees the raises (imports, year end, ...)
    declared = error_codes()
    undeclared = [(f, line, code) for f, line, code in literals if code not in declared]
    assert undeclared == []


def test_every_error_class_names_a_declared_code():
    todo, seen = [SheshiError], []
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        seen.append(cls)
        member = error_codes()[cls.code]
        assert (cls.code, cls.status, cls.title) == (member.code, member.status, member.title), cls


def test_every_database_rule_maps_to_a_declared_code():
    assert len(DB_RULES) > 60
    assert {name: rule for name, rule in DB_RULES.items() if not isinstance(rule, ErrorCode)} == {}
    assert {name for name, rule in DB_RULES.items() if error_codes()[rule.code] is not rule} == set()


def test_a_code_is_declared_once_across_the_apps():
    by_enum = {}
    for member in error_codes().values():
        by_enum.setdefault(member.code, set()).add(type(member).__name__)
    assert {c: e for c, e in by_enum.items() if len(e) > 1} == {}
    assert {type(m).__name__ for m in error_codes().values()} >= {
        "CommonErrorCode", "LedgerErrorCode", "PeriodsErrorCode", "ConsolidationErrorCode", "AuditErrorCode",
        "ImportErrorCode"}


def test_a_raise_with_a_code_takes_that_codes_status_and_title():
    from ledger.errors import LedgerErrorCode

    err = SheshiError("locked", code="period_locked")
    assert (err.code, err.status, err.title) == ("period_locked", 422, "The period is locked.")
    err = SheshiError("x", code=LedgerErrorCode.ENTRY_UNBALANCED)
    assert (err.status, err.title) == (422, "The entry does not balance.")


def test_a_raise_with_an_undeclared_code_fails_loudly():
    with pytest.raises(LookupError, match="no_such_code"):
        SheshiError("x", code="no_such_code")


def test_the_http_layer_codes_are_common():
    assert {"validation_failed", "not_authenticated", "not_found", "method_not_allowed", "throttled",
            "unsupported_media_type", "payload_too_large", "server_error"} <= {m.code for m in CommonErrorCode}


def _schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_error_code_enum_is_published_in_the_openapi_schema():
    schema = _schema()
    published = schema["components"]["schemas"]["ErrorCodeEnum"]
    assert published["enum"] == sorted(error_codes())
    assert "* `entry_unbalanced` — 422: The entry does not balance." in published["description"]
    problem = schema["components"]["schemas"]["Problem"]
    assert problem["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCodeEnum"}


def test_every_operation_documents_its_problem_responses_with_an_example_per_code():
    schema = _schema()
    responses = schema["components"]["responses"]
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            errors = {s: r for s, r in op["responses"].items() if int(s) >= 400}
            assert {"400", "401", "403", "404", "429"} <= set(errors), (method, path)
            if method in ("post", "patch", "put", "delete"):
                assert {"409", "415", "422"} <= set(errors), (method, path)
            for status, ref in errors.items():
                assert ref == {"$ref": f"#/components/responses/Problem{status}"}, (method, path, status)
    for status, response in responses.items():
        content = response["content"]["application/problem+json"]
        codes = {c for c, m in error_codes().items() if f"Problem{m.status}" == status}
        assert set(content["examples"]) == codes, status
        assert all(e["value"]["status"] == int(status[7:]) for e in content["examples"].values())


def test_drafts_document_412_and_428_and_reads_of_a_run_409():
    paths = _schema()["paths"]
    assert {"412", "428"} <= set(paths["/api/v1/journal-entries/{id}/"]["patch"]["responses"])
    assert "412" in paths["/api/v1/entity-periods/{id}/lock/"]["post"]["responses"]
    for read in ("results/", "statements/", "accounts/{code}/", "accounts/{code}/members/{entity}/"):
        assert "409" in paths[f"/api/v1/consolidation-runs/{{id}}/{read}"]["get"]["responses"], read
    assert "503" in paths["/api/v1/audit/evidence/"]["get"]["responses"]


def _headers(op: dict, where: str) -> dict:
    return {p["name"]: p for p in op.get("parameters", []) if p["in"] == "header"} if where == "request" else \
        {status: set(r.get("headers", {})) for status, r in op["responses"].items() if "headers" in r}


def test_conditional_and_idempotent_operations_document_their_headers():
    """If-Match (required on every change to an existing object, optional on a create under one)
    and the ETag answer; Idempotency-Key and Idempotent-Replayed on a create; 412 only where
    If-Match is read, 428 only where it is required."""
    paths = _schema()["paths"]
    assign = paths["/api/v1/ic-differences/{id}/assign/"]["post"]
    assert _headers(assign, "request")["If-Match"]["required"] is True
    assert _headers(assign, "response") == {"200": {"ETag"}} and {"412", "428"} <= set(assign["responses"])
    comment = paths["/api/v1/ic-differences/{id}/comments/"]["post"]  # a create: its key governs a retry
    assert _headers(comment, "request")["If-Match"].get("required", False) is False
    assert "412" in comment["responses"] and "428" not in comment["responses"]
    draft = paths["/api/v1/journal-entries/{id}/"]["patch"]
    assert _headers(draft, "request")["If-Match"]["required"] is True and "428" in draft["responses"]
    assert _headers(paths["/api/v1/consolidation-groups/{id}/"]["get"], "response") == {"200": {"ETag"}}
    move = paths["/api/v1/entity-periods/move/"]["post"]  # many objects, no If-Match: no 412 either
    assert "If-Match" not in _headers(move, "request") and "412" not in move["responses"]
    for path in ("/api/v1/fx-rates/upload/", "/api/v1/journal-entries/", "/api/v1/journal-entries/batch/"):
        create = paths[path]["post"]
        assert "Idempotency-Key" in _headers(create, "request"), path
        assert _headers(create, "response") == {"201": {"Idempotent-Replayed"}}, path
    conflicts = _schema()["components"]["responses"]["Problem409"]["content"]["application/problem+json"]
    assert {"idempotency_key_reused", "idempotency_key_in_use", "idempotency_key_abandoned"} <= set(
        conflicts["examples"])


@pytest.mark.django_db
def test_the_http_layers_refusals_carry_declared_codes(client):
    anonymous = client.get("/api/v1/entities/")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    assert anonymous["Content-Type"] == "application/problem+json"
    missing = client.get("/api/v1/no-such-thing/")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
