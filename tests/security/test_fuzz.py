"""Fuzz every operation of the OpenAPI schema with schemathesis, in-process (WSGI), bounded.

Per operation: MAX_EXAMPLES generated requests (hypothesis, derandomised: the same cases on every
run), sent to the WSGI application as a user with a broad role (controller on entity MXA1, and
organisation admin of MXA) through a read/write API token — what the demo's controller can do.
Each must answer without a 5xx, with a status code the schema documents for the operation (issue
#18: 95 were undocumented), in a content type documented for that status, and with a body that
matches its schema. Each case runs in a rolled-back savepoint, so the world
(tests/security/world.py) stays as built. The schema fuzzed is the one /api/v1/schema/ serves
(test_the_fuzzed_schema_is_the_published_one).

Reproduce a failure: the assertion prints the case as a curl command; the seed is fixed by
``derandomize=True``, so re-running the test replays the same cases.
"""
from __future__ import annotations

import json
import re

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sheshi.access.services.tokens import api_token_issue
from sheshi.wsgi import application

MAX_EXAMPLES = 10

# Response-schema violations already reported to their owners, by schema location. A case whose
# only failures are listed here is xfailed (with the list), so the gap stays visible; a 5xx or
# any other violation fails. Remove an entry once the serializer is fixed.
KNOWN_SCHEMA_GAPS: dict[str, str] = {}
_SCHEMA_AT = re.compile(r"Schema at (/components/schemas/[\w/]+):")


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
RAW_SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
SCHEMA = schemathesis.openapi.from_dict(RAW_SCHEMA)
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """The WSGI handler closes "old" connections around each request, which would end the test
    transaction; Django's own test client disconnects the same handlers."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def broad_token(world, django_db_blocker):
    with django_db_blocker.unblock():
        user = world.users["controller"]
        _, raw = api_token_issue(user=user, name="fuzz", scopes=["read", "write"])
        return raw


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_fuzz_operation(label, broad_token):
    operation = OPERATIONS[label]
    headers = {"Authorization": f"Bearer {broad_token}"}

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        sid = transaction.savepoint()
        try:
            response = case.call(app=application, headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)
        finally:
            transaction.savepoint_rollback(sid)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:
        failures = list(getattr(exc, "exceptions", [exc]))
        where = {m for f in failures for m in _SCHEMA_AT.findall(getattr(f, "message", "") or str(f))}
        only_schema = all(isinstance(f, JsonSchemaError) for f in failures)
        if where and only_schema and where <= set(KNOWN_SCHEMA_GAPS):
            pytest.xfail("known response-schema gaps: " + ", ".join(sorted(where)))
        raise


@pytest.mark.django_db
def test_the_fuzzed_schema_is_the_published_one(client):
    served = client.get("/api/v1/schema/?format=json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(RAW_SCHEMA, default=str))


def test_fuzzing_covers_every_operation():
    assert len(OPERATIONS) >= 20
    assert "POST /api/v1/journal-entries/" in OPERATIONS


def test_known_schema_gaps_are_still_gaps():
    """An entry whose field has been made nullable (or removed) must leave KNOWN_SCHEMA_GAPS."""
    fixed = []
    for pointer in KNOWN_SCHEMA_GAPS:
        node = RAW_SCHEMA
        for part in pointer.strip("/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None or node.get("nullable"):
            fixed.append(pointer)
    assert not fixed, f"Fixed or gone, remove from KNOWN_SCHEMA_GAPS: {fixed}"
