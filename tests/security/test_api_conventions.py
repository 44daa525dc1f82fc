"""One convention for every endpoint (issue #18 item 2), checked over the URL configuration and
the OpenAPI schema so a new endpoint is held to it without anyone remembering to:

* every POST that creates (documents 201/202) honours ``Idempotency-Key``: the same key and body
  return the first answer, the same key with another body is 409 ``idempotency_key_reused``, and
  a key is the caller's own;
* every change to one existing object (PATCH/PUT/DELETE, or a POST action such as approve) requires
  ``If-Match``: 428 ``precondition_required`` without it, 412 ``precondition_failed`` when stale;
  creating something under an object (comments, attachments, reversals) is a create, governed by
  ``Idempotency-Key``, with If-Match optional;
* every list is cursor-paginated (``cursor``, ``page_size``) and orderable (``ordering``), with
  no page numbers or offsets, and filters named the same way everywhere;
* no money field is a floating-point number in any schema.

The world is the authorisation matrix's (tests/security/world.py); each case runs in a savepoint
rolled back at the end.
"""
from __future__ import annotations

import re

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator

from tests.security.expectations import EXPECTATIONS
from tests.security.test_matrix import _url
from tests.security.world import OWN

pytestmark = pytest.mark.django_db

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = {(path, method.upper()): op for path, ops in SCHEMA["paths"].items()
              for method, op in ops.items() if method in ("get", "post", "put", "patch", "delete")}
CREATES = sorted(key for key, op in OPERATIONS.items()
                 if key[1] == "POST" and {"201", "202"} & set(op["responses"]))


def _is_list(op: dict) -> bool:
    """A list endpoint answers a paginated page (drf-spectacular's Paginated<X>List component)."""
    ref = op["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
    component = SCHEMA["components"]["schemas"].get(ref.get("$ref", "").rsplit("/", 1)[-1], {})
    return "results" in component.get("properties", {})


LISTS = sorted(key for key, op in OPERATIONS.items() if key[1] == "GET" and _is_list(op))

# Creates that do not keep their answer for a replay, with the reason.
NOT_IDEMPOTENT = {
    ("/api/v1/tokens/", "POST"): "the answer carries the new token's secret, which is never stored",
}

# Where the world holds no caller who may make the request succeed, the case arranges it first
# (inside the case's savepoint) and names the caller and the body to send.
def _ledger_preparer(world):
    """Nobody in the world holds a role on a group's consolidation ledger: give the controller one."""
    from consolidation.models import ConsolidationGroup
    from consolidation.services.ledger_access import consolidation_ledger_role_grant

    group = ConsolidationGroup.objects.get(pk=world.get("consolidation_group", OWN))
    consolidation_ledger_role_grant(actor=None, group=group, user=world.users["controller"], role="preparer")
    return "controller", None


def _month_locked(world):
    """The group locks a month once its members have: lock the entity's empty first month."""
    from periods.services.transitions import entity_period_lock, entity_period_soft_close

    ep = world.get("entity_period_empty", OWN)
    entity_period_soft_close(actor=None, entity_period_id=ep, reason="conventions")
    entity_period_lock(actor=None, entity_period_id=ep, reason="conventions")
    return "controller", {"period": "2026-01"}


ARRANGE = {
    ("/api/v1/consolidation-groups/{id}/adjustments/", "POST"): _ledger_preparer,
    ("/api/v1/consolidation-groups/{id}/lock/", "POST"): _month_locked,
}


def _arranged(world, path, method, rule):
    """The caller and a body factory for the case (the world's first allowed caller and body by default)."""
    caller, body = ARRANGE[(path, method)](world) if (path, method) in ARRANGE else (sorted(rule.allowed)[0], None)
    # A multipart body holds file objects that one request consumes: a fresh body for every request.
    return caller, (lambda: dict(body)) if body is not None else (lambda: rule.body(world, OWN) if rule.body else {})


def _request(client, method, url, body, multipart, headers):
    if multipart:
        return client.post(url, data=body, headers=headers)
    return client.post(url, data=body or {}, content_type="application/json", headers=headers)


def test_the_conventions_see_the_endpoints():
    assert len(CREATES) >= 10 and ("/api/v1/journal-entries/", "POST") in CREATES
    assert len(LISTS) >= 15 and ("/api/v1/journal-entries/", "GET") in LISTS


@pytest.mark.parametrize("path,method", CREATES)
def test_every_create_honours_an_idempotency_key(world, path, method):
    if (path, method) in NOT_IDEMPOTENT:
        assert "Idempotency-Key" not in {p["name"] for p in OPERATIONS[(path, method)].get("parameters", [])}
        pytest.skip(NOT_IDEMPOTENT[(path, method)])
    rule = EXPECTATIONS[(path, method)]
    url = _url(path, rule, world, OWN)
    if rule.query:
        url += "?" + "&".join(f"{k}={v}" for k, v in rule.query(world, OWN).items())
    headers = {**(rule.headers(world, OWN) if rule.headers else {}), "Idempotency-Key": f"conv-{path}"}
    sid = transaction.savepoint()
    try:
        caller, body = _arranged(world, path, method, rule)
        client = world.clients[caller]
        first = _request(client, method, url, body(), rule.multipart, headers)
        assert first.status_code in rule.ok and first.status_code < 300, (first.status_code, first.content[:300])
        again = _request(client, method, url, body(), rule.multipart, headers)
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        assert again.headers.get("Idempotent-Replayed") == "true"

        reused = _request(client, method, url, dict(body(), idempotency_probe="another request"), rule.multipart,
                          headers)
        assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")

        # The key is the caller's own: another user's identical request is not a replay of it.
        someone_else = world.clients["viewer" if caller != "viewer" else "auditor"]
        theirs = _request(someone_else, method, url, body(), rule.multipart, headers)
        assert theirs.headers.get("Idempotent-Replayed") is None
        assert "Idempotency-Key" in {p["name"] for p in OPERATIONS[(path, method)].get("parameters", [])}
    finally:
        transaction.savepoint_rollback(sid)


@pytest.mark.parametrize("path,method", LISTS)
def test_every_list_is_cursor_paginated_and_orderable(path, method):
    params = {p["name"] for p in OPERATIONS[(path, method)].get("parameters", []) if p["in"] == "query"}
    assert {"cursor", "page_size", "ordering"} <= params
    assert not params & {"page", "offset", "limit"}


# One name per concept, one kind of value per name (sheshi/api/filters.py, README "API conventions"):
# an object with a code is named by its code, and on lists also by id as <name>_id; an object
# without one by its id; a user by username. No synonyms, no Django lookups (__) in a name.
BANNED_PARAMETER_NAMES = re.compile(r"(__|^org$|^organization$|^order_by$|^sort$|^sort_by$|^ent$|_code$)")
CODED = {"organisation", "entity", "period", "fiscal_year", "account", "group", "source_system"}
BY_ID = {"run", "import_batch", "entity_period", "template", "with"}
BY_USERNAME = {"owner", "assignee"}
# Parameters ending in _id that are not a twin of a coded filter, with the reason.
NOT_A_TWIN = {("/api/v1/audit/events/", "object_id"): "the audited object's id as the event records it (text)"}


def _query_params(op: dict) -> dict[str, dict]:
    return {p["name"]: p.get("schema", {}) for p in op.get("parameters", []) if p["in"] == "query"}


def test_query_parameters_are_named_and_valued_the_same_way_everywhere():
    gets = {path: op for (path, method), op in OPERATIONS.items() if method == "GET"}
    wrong = []
    for path, op in sorted(gets.items()):
        params = _query_params(op)
        for name, schema in params.items():
            kind = schema.get("type")
            if BANNED_PARAMETER_NAMES.search(name):
                wrong.append((path, name, "not the object's plain name"))
            elif name in CODED and kind != "string":
                wrong.append((path, name, f"a code is a string, not {kind}"))
            elif name in BY_ID and kind != "integer":
                wrong.append((path, name, f"an id is an integer, not {kind}"))
            elif name in BY_USERNAME and kind != "string":
                wrong.append((path, name, "a username is a string"))
            elif name.endswith("_id") and (path, name) not in NOT_A_TWIN:
                base = name.removesuffix("_id")
                if base not in CODED or params.get(base, {}).get("type") != "string" or kind != "integer":
                    wrong.append((path, name, "an _id parameter is the integer twin of a coded filter"))
        if (path, "GET") in LISTS:  # a list filtered by a coded object also takes its id
            wrong += [(path, name, "no _id twin") for name in params if name in CODED and f"{name}_id" not in params]
    assert wrong == []


@pytest.mark.parametrize("path,method", LISTS)
def test_a_list_refuses_a_parameter_it_does_not_take_and_takes_every_one_it_documents(world, path, method):
    """A misspelt or renamed filter (e.g. the old ``period__code``) must not be dropped silently: the
    client would read the whole list as the filtered one (sheshi/api/filters.py)."""
    rule = EXPECTATIONS[(path, method)]
    url = _url(path, rule, world, OWN)
    query = rule.query(world, OWN) if rule.query else {}
    if not rule.allowed:
        pytest.skip("nobody in the world may read this list")
    client = world.clients["controller" if "controller" in rule.allowed else sorted(rule.allowed)[0]]
    ok = client.get(url, data=query)
    assert ok.status_code in rule.ok, (ok.status_code, ok.content[:300])
    for stale in ("period__code", "zz_no_such_filter"):
        refused = client.get(url, data={**query, stale: "x"})
        assert refused.status_code == 400, (stale, refused.status_code)
        assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [(stale, "unknown_parameter")]
    # Every documented parameter is taken (its value may still be refused, never its name).
    for name in _query_params(OPERATIONS[(path, method)]):
        answer = client.get(url, data={**query, name: query.get(name, "1")})
        codes = [e.get("code") for e in answer.json().get("errors", [])] if answer.status_code == 400 else []
        assert "unknown_parameter" not in codes, (name, answer.content[:300])


def test_a_list_filters_by_code_and_by_id_alike(world):
    client = world.clients["controller"]
    entity = world.get("entity_code", OWN)
    by_code = client.get(f"/api/v1/entity-periods/?entity={entity}&period=2026-01&page_size=100").json()["results"]
    assert len(by_code) == 1 and by_code[0]["entity_code"] == entity
    by_id = client.get(f"/api/v1/entity-periods/?entity_id={by_code[0]['entity']}&period_id={by_code[0]['period']}"
                       ).json()["results"]
    assert [row["id"] for row in by_id] == [by_code[0]["id"]]
    assert client.get("/api/v1/entity-periods/?entity=NO-SUCH&page_size=100").json()["results"] == []


def test_every_list_walks_by_cursor_without_repeats(world):
    client = world.clients["controller"]
    seen, url = [], "/api/v1/entity-periods/?page_size=2&ordering=-id"
    while url:
        body = client.get(url).json()
        assert set(body) == {"next", "previous", "results"}
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) > 2
    assert seen == sorted(seen, reverse=True)


MONEY_NAMES = re.compile(r"(amount|debit|credit|net|balance|total|rate|goodwill|value|price)", re.I)


def _numbers(schema: dict, where: str, out: list) -> None:
    if "$ref" in schema:
        return
    for name, prop in (schema.get("properties") or {}).items():
        if MONEY_NAMES.search(name) and prop.get("type") == "number":
            out.append(f"{where}.{name}")
        _numbers(prop, f"{where}.{name}", out)
    if isinstance(schema.get("items"), dict):
        _numbers(schema["items"], where + "[]", out)


def test_no_money_field_is_a_float_in_any_schema():
    floats: list[str] = []
    for name, component in SCHEMA["components"]["schemas"].items():
        _numbers(component, name, floats)
    assert floats == []
    amount = SCHEMA["components"]["schemas"]["JournalLineOutput"]["properties"]["amount"]
    assert (amount["type"], amount.get("format")) == ("string", "decimal")


DETAIL_WRITES = sorted(key for key in OPERATIONS if key[1] in ("POST", "PATCH", "PUT", "DELETE") and "{id}" in key[0])
# Detail writes without ETag/If-Match, with the reason.
UNCONDITIONAL = {
    ("/api/v1/tokens/{id}/revoke/", "POST"): "revoking is idempotent and final: there is no version to lose",
}


def test_every_change_to_an_editable_object_is_conditional():
    missing = [key for key in DETAIL_WRITES if key not in UNCONDITIONAL
               and ("412" not in OPERATIONS[key]["responses"]
                    or "If-Match" not in {p["name"] for p in OPERATIONS[key].get("parameters", [])})]
    assert missing == []


def _header_params(key) -> dict:
    return {p["name"]: p for p in OPERATIONS[key].get("parameters", []) if p["in"] == "header"}


# A detail write documenting Idempotency-Key creates something under the object; every other one changes it.
DETAIL_CREATES = [k for k in DETAIL_WRITES if k not in UNCONDITIONAL and "Idempotency-Key" in _header_params(k)]
DETAIL_CHANGES = [k for k in DETAIL_WRITES if k not in UNCONDITIONAL and k not in DETAIL_CREATES]


def test_every_change_requires_if_match_and_documents_428_with_its_example():
    assert len(DETAIL_CHANGES) >= 20 and ("/api/v1/journal-entries/{id}/approve/", "POST") in DETAIL_CHANGES
    optional = [k for k in DETAIL_CHANGES if not _header_params(k)["If-Match"].get("required")]
    undocumented = [k for k in DETAIL_CHANGES if "428" not in OPERATIONS[k]["responses"]]
    assert (optional, undocumented) == ([], [])
    examples = SCHEMA["components"]["responses"]["Problem428"]["content"]["application/problem+json"]["examples"]
    assert examples["precondition_required"]["value"]["status"] == 428
    # A create under an object is governed by its Idempotency-Key: If-Match optional there, no 428.
    assert not [k for k in DETAIL_CREATES if _header_params(k)["If-Match"].get("required")
                or "428" in OPERATIONS[k]["responses"]]


@pytest.mark.parametrize("path,method", DETAIL_CHANGES)
def test_a_change_without_if_match_is_428_and_writes_nothing(world, path, method):
    from tests.security.test_matrix import _call

    rule = EXPECTATIONS[(path, method)]
    url = _url(path, rule, world, OWN)
    sid = transaction.savepoint()
    try:
        caller, body = _arranged(world, path, method, rule)
        client = world.clients[caller]
        query = rule.query(world, OWN) if rule.query else None
        extra = {k: v for k, v in (rule.headers(world, OWN) if rule.headers else {}).items() if k != "If-Match"}
        for if_match in ({}, {"If-Match": "*"}):  # "*" names no version: not enough for a change
            resp, writes = _call(client, method, url, query, body(), rule.multipart, {**extra, **if_match})
            assert (resp.status_code, resp.json()["code"], writes) == (428, "precondition_required", 0), \
                (if_match, resp.content[:300])
    finally:
        transaction.savepoint_rollback(sid)


@pytest.mark.parametrize("path,method", [k for k in DETAIL_WRITES if k not in UNCONDITIONAL])
def test_a_stale_if_match_is_412_and_writes_nothing(world, path, method):
    from tests.security.test_matrix import _call

    rule = EXPECTATIONS[(path, method)]
    url = _url(path, rule, world, OWN)
    detail = url if url.rstrip("/").rsplit("/", 1)[-1].isdigit() else re.sub(r"[a-z-]+/$", "", url)
    sid = transaction.savepoint()
    try:
        caller, body = _arranged(world, path, method, rule)
        client = world.clients[caller]
        read = client.get(detail)
        assert read.status_code == 200 and read.headers["ETag"].startswith('"')
        query = rule.query(world, OWN) if rule.query else None
        extra = rule.headers(world, OWN) if rule.headers else {}
        stale, writes = _call(client, method, url, query, body(), rule.multipart,
                              {**extra, "If-Match": '"0123456789"'})
        assert (stale.status_code, stale.json()["code"], writes) == (412, "precondition_failed", 0)
        fresh, _ = _call(client, method, url, query, body(), rule.multipart,
                         {**extra, "If-Match": read.headers["ETag"]})
        assert fresh.status_code in rule.ok | {201}, (fresh.status_code, fresh.content[:300])
        if fresh.status_code < 300:  # (year-end may be refused by a rule of the world's state: no new version)
            assert fresh.headers.get("ETag", "").startswith('"')
    finally:
        transaction.savepoint_rollback(sid)
