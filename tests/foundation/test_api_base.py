"""API base: problem+json for every failure, decimal parsing, schema, health."""
import json
import warnings
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.management import call_command

from sheshi.api.parsers import DecimalJSONParser
from tests.factories import EntityFactory, user_with_role

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "errors", "request_id"}


def assert_problem(resp, status, code):
    assert resp.status_code == status
    assert resp["Content-Type"] == "application/problem+json"
    body = resp.json()
    assert set(body) == PROBLEM_KEYS
    assert body["status"] == status and body["code"] == code
    assert body["type"].endswith("/" + code)
    assert body["request_id"] == resp["X-Request-ID"]
    return body


def test_unauthenticated_is_401_problem(client):
    body = assert_problem(client.get("/api/v1/entities/"), 401, "not_authenticated")
    assert body["errors"] == []


def test_unknown_object_is_404_problem(client):
    entity = EntityFactory()
    client.force_login(user_with_role(entity, "viewer"))
    assert_problem(client.get("/api/v1/entities/999999/"), 404, "not_found")


def test_wrong_method_is_405_problem(client):
    entity = EntityFactory()
    client.force_login(user_with_role(entity, "viewer"))
    resp = client.delete(f"/api/v1/entities/{entity.pk}/")
    assert_problem(resp, 405, "method_not_allowed")


def test_invalid_filter_is_400_problem_with_field_errors(client):
    entity = EntityFactory()
    client.force_login(user_with_role(entity, "viewer"))
    body = assert_problem(client.get("/api/v1/entities/?organisation_id=not-a-number"), 400, "validation_failed")
    assert body["errors"][0]["field"] == "organisation_id"


def test_read_only_token_cannot_write_is_403_problem(client):
    from sheshi.access.services.tokens import api_token_issue

    entity = EntityFactory()
    user = user_with_role(entity, "viewer")
    _, raw = api_token_issue(user=user, name="ci", scopes=["read"])
    resp = client.post("/api/v1/entities/", data={}, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert_problem(resp, 403, "permission_denied")


def test_bearer_token_authenticates_and_is_scoped(client):
    from sheshi.access.services.tokens import api_token_issue

    entity = EntityFactory(code="TOK1")
    EntityFactory(code="TOK2", organisation=entity.organisation)
    _, raw = api_token_issue(user=user_with_role(entity, "viewer"), name="ci", scopes=["read"])
    resp = client.get("/api/v1/entities/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert resp.status_code == 200
    assert [e["code"] for e in resp.json()["results"]] == ["TOK1"]
    assert_problem(client.get("/api/v1/entities/", HTTP_AUTHORIZATION="Bearer shs_nope_nope"), 401,
                   "authentication_failed")


def test_expired_token_is_refused(client):
    from datetime import timedelta

    from django.utils import timezone

    from sheshi.access.models import ApiToken
    from sheshi.access.services.tokens import api_token_issue

    entity = EntityFactory()
    token, raw = api_token_issue(user=user_with_role(entity, "viewer"), name="old", scopes=["read"])
    ApiToken.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(days=2),
                                                expires_at=timezone.now() - timedelta(days=1))
    assert_problem(client.get("/api/v1/entities/", HTTP_AUTHORIZATION=f"Bearer {raw}"), 401,
                   "authentication_failed")


def test_request_id_is_echoed_when_well_formed(client):
    resp = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert resp["X-Request-ID"] == "abc-123"
    resp = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n")
    assert resp["X-Request-ID"] != "bad id\n" and len(resp["X-Request-ID"]) == 32


def test_json_numbers_parse_as_decimal_without_float_loss():
    data = DecimalJSONParser().parse(BytesIO(b'{"amount": 1234567890123456.7891}'))
    assert data["amount"] == Decimal("1234567890123456.7891")
    assert isinstance(data["amount"], Decimal)


def test_nan_is_rejected():
    from rest_framework.exceptions import ParseError

    with pytest.raises(ParseError):
        DecimalJSONParser().parse(BytesIO(b'{"amount": NaN}'))


@pytest.mark.parametrize(("text", "refused"), [
    ("[" * 31 + "1" + "]" * 31, False), ("[" * 32 + "1" + "]" * 32, True),  # a value 33 levels down
    ("[" * 32 + "]" * 32, False), ("[" * 33 + "]" * 33, True),
    ('{"a": ' * 31 + '"x"' + "}" * 31, False), ('{"a": ' * 32 + "{}" + "}" * 32, True),
    (r'{"d": "x\\u0000"}', False),  # a backslash, then "u0000": not a NUL
    (r'{"d": "x\u0000"}', True), (r'{"d\u0000": 1}', True), (r'[{"a": ["\u0000"]}]', True)])
def test_json_depth_and_nul_refusals(text, refused):
    """The NUL walk runs only when the text holds the escape \\u0000; the depth walk visits only
    containers (sheshi/api/parsers.py). Both refuse exactly what the walk over every value did."""
    from rest_framework.exceptions import ParseError

    from sheshi.api.parsers import _check_shape

    parse = lambda: DecimalJSONParser().parse(BytesIO(text.encode()))  # noqa: E731
    if refused:
        with pytest.raises(ParseError):
            parse()
        with pytest.raises(ParseError):
            _check_shape(json.loads(text), strings=True)
    else:
        assert parse() == json.loads(text)
        _check_shape(json.loads(text), strings=True)


def test_openapi_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.json"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call_command("spectacular", "--format", "openapi-json", "--file", str(out), "--fail-on-warn",
                     "--validate")
    schema = json.loads(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/entities/" in schema["paths"]


def test_docs_and_schema_are_public_but_data_is_not(client):
    assert client.get("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/journal-entries/").status_code == 401


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
