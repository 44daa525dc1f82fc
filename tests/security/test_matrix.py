"""Authorisation matrix: every /api/v1/ endpoint × method × caller × {own, other, foreign} entity.

Endpoints come from the URL configuration (drf-spectacular's enumerator, the OpenAPI schema's
source); expected outcomes from tests/security/expectations.py (read its docstring to add an
endpoint). The world is built once per module (tests/security/world.py); each cell runs in a
rolled-back savepoint and refused cells must write nothing.
"""
from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test import Client

from tests.security.expectations import EXPECTATIONS, Expect
from tests.security.world import ANONYMOUS, CALLERS, FOREIGN, OTHER, OWN, SCOPES, World

SKIPPED_METHODS = {"HEAD", "OPTIONS"}  # DRF metadata and HEAD mirror GET; nothing tenant-specific
# Side writes a request may make whatever its outcome (session, login lockout log, audit of the refusal).
SIDE_WRITE_TABLES = ["django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog",
                     "audit_event", "audit_chain", "audit_chain_head"]


def discover_endpoints() -> list[tuple[str, str]]:
    from drf_spectacular.generators import EndpointEnumerator

    found = set()
    for path, _regex, method, _callback in EndpointEnumerator().get_api_endpoints():
        if path.startswith("/api/v1/") and method not in SKIPPED_METHODS:
            found.add((re.sub(r"\{pk\}", "{id}", path), method))
    return sorted(found)


ENDPOINTS = discover_endpoints()


def _writes() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables "
                    "WHERE NOT (relname = ANY(%s))", [SIDE_WRITE_TABLES])
        return int(cur.fetchone()[0])


def _url(path: str, rule: Expect, world: World, scope: str) -> str:
    if "{id}" in path:
        if rule.target is None:
            raise AssertionError(f"{path}: the expectation needs target=<kind> for the {{id}} parameter")
        path = path.replace("{id}", str(world.get(rule.target, scope)))
    for name, value in (rule.params(world, scope) if rule.params else {}).items():
        path = path.replace("{" + name + "}", str(value))
    if re.search(r"\{\w+\}", path):
        raise AssertionError(f"{path}: unfilled path parameter; extend test_matrix._url for it")
    return path


def _call(client: Client, method: str, url: str, query: dict | None, body: dict | None, multipart: bool = False,
          headers: dict | None = None):
    sid = transaction.savepoint()
    before = _writes()
    try:
        if method == "GET":
            kwargs = {"data": query}
        elif multipart:  # the test client's default encoding for a dict body
            kwargs = {"data": body if body is not None else {}}
        else:
            kwargs = {"data": body if body is not None else {}, "content_type": "application/json"}
        if method != "GET" and query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        resp = getattr(client, method.lower())(url, headers=headers, **kwargs)
        return resp, _writes() - before
    finally:
        transaction.savepoint_rollback(sid)


def _detail_url(url: str) -> str:
    """The object a detail write acts on: /x/5/approve/ -> /x/5/."""
    return url if url.rstrip("/").rsplit("/", 1)[-1].isdigit() else re.sub(r"[a-z-]+/$", "", url)


def current_etag(world: World, rule: Expect, url: str, caller: str) -> dict:
    """A change to one object needs If-Match (sheshi/api/conditional.py): its current ETag as the
    caller reads it, or as the first caller who sees it does, so the cell shows who may make the
    change (a caller who cannot see the object is 404 before any precondition). Empty for an
    object nobody sees."""
    for caller in (caller, *sorted(rule.see)):
        if caller == ANONYMOUS:
            continue
        resp, _ = _call(world.clients[caller], "GET", _detail_url(url), None, None)
        if resp.status_code == 200 and resp.has_header("ETag"):
            return {"If-Match": resp["ETag"]}
    return {}


def _visible_scope(rule: Expect, scope: str) -> bool:
    return scope == OWN or (scope == OTHER and rule.level == "org")


def expected_status(rule: Expect, caller: str, scope: str) -> str:
    """'401', '404', '403' or 'ok' for one cell."""
    if caller == ANONYMOUS:
        return rule.anonymous
    if rule.level != "none" and (not _visible_scope(rule, scope) or caller not in rule.see):
        return str(rule.invisible)
    if caller not in rule.allowed:
        return str(rule.denied)
    return "ok"


def _ids(resp) -> set:
    body = resp.json()
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    return {row.get("id") for row in rows}


def _check_list(path, method, rule, world) -> list[str]:
    wrong = []
    for caller in CALLERS:
        resp, writes = _call(world.clients[caller], method, path, {"page_size": 500}, None)
        if caller == ANONYMOUS:
            if resp.status_code != 401:
                wrong.append(f"{caller:<10} list: expected 401, got {resp.status_code}")
            continue
        if resp.status_code != 200:
            wrong.append(f"{caller:<10} list: expected 200, got {resp.status_code} {resp.content[:200]!r}")
            continue
        ids = _ids(resp)
        for scope in SCOPES:
            want = _visible_scope(rule, scope) and caller in rule.see
            has = world.get(rule.lists, scope) in ids
            if want != has:
                wrong.append(f"{caller:<10} {scope:<8} {rule.lists} {'missing from' if want else 'LEAKED in'} list")
        if writes:
            wrong.append(f"{caller:<10} list wrote {writes} rows")
    return wrong


def _check_cells(path, method, rule, world) -> list[str]:
    wrong = []
    scopes = SCOPES if rule.level != "none" else (OWN,)
    for caller in CALLERS:
        for scope in scopes:
            want = expected_status(rule, caller, scope)
            url = _url(path, rule, world, scope)
            query = rule.query(world, scope) if rule.query else None
            body = rule.body(world, scope) if rule.body else None
            headers = rule.headers(world, scope) if rule.headers else None
            if headers is None and method != "GET" and "{id}" in path and caller != ANONYMOUS:
                headers = current_etag(world, rule, url, caller)
            resp, writes = _call(world.clients[caller], method, url, query, body, rule.multipart, headers)
            got = resp.status_code
            if want == "ok":
                if got not in rule.ok:
                    wrong.append(f"{caller:<10} {scope:<8} expected {sorted(rule.ok)}, got {got} "
                                 f"{resp.content[:300]!r}")
                continue
            if str(got) != want:
                wrong.append(f"{caller:<10} {scope:<8} expected {want}, got {got} {resp.content[:200]!r}")
            elif resp["Content-Type"] != "application/problem+json":
                wrong.append(f"{caller:<10} {scope:<8} refusal is not problem+json: {resp['Content-Type']}")
            if writes:
                wrong.append(f"{caller:<10} {scope:<8} refused ({got}) but wrote {writes} rows")
    return wrong


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), ENDPOINTS, ids=[f"{m} {p}" for p, m in ENDPOINTS])
def test_authorisation_matrix(path, method, world):
    rule = EXPECTATIONS.get((path, method))
    assert rule is not None, (f"No authorisation expectation for {method} {path}: add "
                              f"(\"{path}\", \"{method}\"): Expect(...) to tests/security/expectations.py")
    wrong = _check_list(path, method, rule, world) if rule.lists else _check_cells(path, method, rule, world)
    if rule.known_gap:
        # Strict: a known gap is reported as xfail while it is still wrong, and fails once fixed.
        assert wrong, f"{method} {path} now behaves as expected: remove known_gap from its expectation"
        pytest.xfail(f"{rule.known_gap}\n  " + "\n  ".join(wrong))
    assert not wrong, f"{method} {path}: {len(wrong)} cell(s) wrong\n  " + "\n  ".join(wrong)


def test_every_expectation_names_an_existing_endpoint():
    stale = sorted(set(EXPECTATIONS) - set(ENDPOINTS))
    assert not stale, f"Expectations for endpoints that no longer exist: {stale}"


def test_the_matrix_covers_every_caller_and_scope():
    assert set(CALLERS) == {"viewer", "preparer", "approver", "controller", "auditor", "org_admin", "member",
                            "anonymous"}
    assert SCOPES == (OWN, OTHER, FOREIGN)
    assert len(ENDPOINTS) >= 20
