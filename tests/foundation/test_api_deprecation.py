"""A deprecated operation says so in the schema and on every response (Deprecation, Sunset,
Link); its neighbours do not."""
from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.factories import UserFactory
from tests.foundation import deprecation_urls

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.foundation.deprecation_urls")]


def test_a_deprecated_operation_announces_its_deprecation_and_sunset(client):
    client.force_login(UserFactory())
    resp = client.get("/api/v1/old-thing/")
    assert resp.status_code == 200 and resp.json() == {"thing": "old"}
    assert resp["Deprecation"] == "@1796083200"  # 2026-12-01T00:00:00Z (RFC 9745)
    assert resp["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"  # RFC 8594 HTTP-date
    assert resp["Link"] == '<https://sheshi.dev/api/migrate/things>; rel="deprecation"'


def test_error_responses_of_a_deprecated_operation_carry_the_headers_too(client):
    resp = client.get("/api/v1/old-thing/")  # not logged in
    assert resp.status_code in (401, 403)
    assert resp["Deprecation"] == "@1796083200" and "Sunset" in resp


def test_other_operations_have_no_deprecation_headers(client):
    client.force_login(UserFactory())
    resp = client.post("/api/v1/old-thing/", {}, content_type="application/json")
    assert resp.status_code == 201
    assert "Deprecation" not in resp and "Sunset" not in resp
    assert "Deprecation" not in client.get("/api/v1/entities/")


def test_the_schema_marks_only_the_deprecated_operation():
    schema = SchemaGenerator(patterns=deprecation_urls.urlpatterns[:1]).get_schema(request=None, public=True)
    operations = schema["paths"]["/api/v1/old-thing/"]
    assert operations["get"]["deprecated"] is True
    assert "2027-06-30" in operations["get"]["description"]
    assert "deprecated" not in operations["post"]
