"""The versioning policy's breaking-change check (sheshi/api/schema_diff.py) on small hand-made
schema pairs, and its use by scripts/release.py against docs/api/v1-schema.yaml."""
from __future__ import annotations

import copy
import importlib.util
import sys

import yaml

from sheshi.api.schema_diff import breaking_changes
from tests.ops.support import ROOT

spec = importlib.util.spec_from_file_location("sheshi_release", ROOT / "scripts" / "release.py")
release = importlib.util.module_from_spec(spec)
sys.modules["sheshi_release"] = release
spec.loader.exec_module(release)

BASE = {
    "openapi": "3.0.3",
    "paths": {
        "/api/v1/things/": {
            "get": {"parameters": [{"in": "query", "name": "cursor", "schema": {"type": "string"}}],
                    "responses": {"200": {"content": {"application/json": {
                        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}}}},
            "post": {"requestBody": {"content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ThingInput"}}}},
                     "responses": {"201": {"content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/Thing"}}}}}},
        },
        "/api/v1/old/": {"get": {"deprecated": True, "responses": {"200": {}}}},
    },
    "components": {"schemas": {
        "Thing": {"type": "object", "required": ["id", "amount"], "properties": {
            "id": {"type": "integer"}, "amount": {"type": "string", "format": "decimal"},
            "note": {"type": "string", "nullable": True}}},
        "ThingInput": {"type": "object", "required": ["amount"], "properties": {
            "amount": {"type": "string", "format": "decimal"},
            "kind": {"type": "string", "enum": ["a", "b"]},
            "note": {"type": "string"}}},
    }},
}


def changed(edit) -> list[str]:
    new = copy.deepcopy(BASE)
    edit(new)
    return breaking_changes(BASE, new)


def schemas(spec):
    return spec["components"]["schemas"]


def test_the_same_schema_has_no_breaking_change():
    assert breaking_changes(BASE, copy.deepcopy(BASE)) == []


def test_additions_are_not_breaking():
    def add(new):
        new["paths"]["/api/v1/new/"] = {"get": {"responses": {"200": {}}}}
        new["paths"]["/api/v1/things/"]["get"]["parameters"].append(
            {"in": "query", "name": "ordering", "schema": {"type": "string"}})
        schemas(new)["ThingInput"]["properties"]["memo"] = {"type": "string"}  # optional input field
        schemas(new)["Thing"]["properties"]["created_at"] = {"type": "string", "format": "date-time"}
        schemas(new)["ThingInput"]["properties"]["kind"]["enum"].append("c")
        new["paths"]["/api/v1/things/"]["post"]["responses"]["200"] = {}
    assert changed(add) == []


def test_a_removed_operation_or_path_is_breaking_unless_it_was_deprecated():
    assert changed(lambda new: new["paths"]["/api/v1/things/"].pop("post")) == ["POST /api/v1/things/: removed"]
    assert changed(lambda new: new["paths"].pop("/api/v1/things/")) == [
        "GET /api/v1/things/: removed (path gone)", "POST /api/v1/things/: removed (path gone)"]
    assert changed(lambda new: new["paths"].pop("/api/v1/old/")) == []


def test_a_new_required_field_or_parameter_is_breaking():
    def required_field(new):
        schemas(new)["ThingInput"]["properties"]["entity"] = {"type": "string"}
        schemas(new)["ThingInput"]["required"].append("entity")
    assert changed(required_field) == [
        "POST /api/v1/things/ request body (application/json).entity: new required field"]
    assert changed(lambda new: schemas(new)["ThingInput"]["required"].append("note")) == [
        "POST /api/v1/things/ request body (application/json).note: now required"]
    assert changed(lambda new: new["paths"]["/api/v1/things/"]["get"]["parameters"].append(
        {"in": "query", "name": "entity", "required": True, "schema": {"type": "string"}})) == [
        "GET /api/v1/things/ query parameter entity: new and required"]


def test_a_changed_type_is_breaking_in_either_direction():
    assert changed(lambda new: schemas(new)["Thing"]["properties"]["id"].update(type="string")) == [
        "GET /api/v1/things/ response 200 (application/json)[].id: type changed from integer to string",
        "POST /api/v1/things/ response 201 (application/json).id: type changed from integer to string"]
    assert changed(lambda new: schemas(new)["ThingInput"]["properties"]["amount"].update(type="number")) == [
        "POST /api/v1/things/ request body (application/json).amount: type changed from string to number"]
    assert changed(lambda new: new["paths"]["/api/v1/things/"]["get"]["parameters"][0]["schema"].update(
        type="integer")) == ["GET /api/v1/things/ query parameter cursor: type changed from string to integer"]


def test_removed_response_fields_dropped_enum_values_and_new_nulls_are_breaking():
    assert changed(lambda new: schemas(new)["Thing"]["properties"].pop("note")) == [
        "GET /api/v1/things/ response 200 (application/json)[].note: removed from the response",
        "POST /api/v1/things/ response 201 (application/json).note: removed from the response"]
    assert changed(lambda new: schemas(new)["ThingInput"]["properties"]["kind"].update(enum=["a"])) == [
        "POST /api/v1/things/ request body (application/json).kind: no longer accepts b"]
    assert changed(lambda new: schemas(new)["Thing"]["properties"]["amount"].update(nullable=True)) == [
        "GET /api/v1/things/ response 200 (application/json)[].amount: may now be null",
        "POST /api/v1/things/ response 201 (application/json).amount: may now be null"]
    assert changed(lambda new: new["paths"]["/api/v1/things/"]["post"]["responses"].pop("201")) == [
        "POST /api/v1/things/ response 201: removed"]


def test_release_refuses_a_breaking_change_and_records_a_compatible_schema(tmp_path):
    released = yaml.safe_dump(BASE)
    (tmp_path / "docs" / "api").mkdir(parents=True)
    target = tmp_path / release.API_SCHEMA
    target.write_text(released)
    broken = copy.deepcopy(BASE)
    broken["paths"]["/api/v1/things/"].pop("post")
    outcome, message = release.api_compatibility(yaml.safe_dump(broken), root=tmp_path)
    assert outcome == "breaking" and "POST /api/v1/things/: removed" in message
    assert target.read_text() == released  # the released schema stays as it was
    assert release.api_compatibility(released, root=tmp_path)[0] == "ok"
    grown = copy.deepcopy(BASE)
    grown["paths"]["/api/v1/new/"] = {"get": {"responses": {"200": {}}}}
    assert release.api_compatibility(yaml.safe_dump(grown), root=tmp_path)[0] == "updated"
    assert yaml.safe_load(target.read_text()) == grown


def test_the_first_release_records_its_schema(tmp_path):
    outcome, message = release.api_compatibility(yaml.safe_dump(BASE), root=tmp_path)
    assert outcome == "updated" and "first released schema" in message
    assert yaml.safe_load((tmp_path / release.API_SCHEMA).read_text()) == BASE


def test_a_changed_status_is_breaking():
    def created_becomes_ok(new):
        responses = new["paths"]["/api/v1/things/"]["post"]["responses"]
        responses["200"] = responses.pop("201")
    assert changed(created_becomes_ok) == ["POST /api/v1/things/ response 201: removed"]


def test_release_refuses_each_kind_of_breaking_change_and_passes_an_additive_one(tmp_path):
    """What `make release` does with docs/api/v1-schema.yaml (scripts/release.py api_compatibility)."""
    (tmp_path / "docs" / "api").mkdir(parents=True)
    target = tmp_path / release.API_SCHEMA

    def outcome(edit) -> tuple[str, str]:
        target.write_text(yaml.safe_dump(BASE))
        new = copy.deepcopy(BASE)
        edit(new)
        return release.api_compatibility(yaml.safe_dump(new), root=tmp_path)

    def required_header(new):
        new["paths"]["/api/v1/things/"]["post"]["parameters"] = [
            {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"}}]

    def created_becomes_ok(new):
        responses = new["paths"]["/api/v1/things/"]["post"]["responses"]
        responses["200"] = responses.pop("201")

    refused = {
        "a removed operation": (lambda new: new["paths"]["/api/v1/things/"].pop("post"), "removed"),
        "a new required parameter": (required_header, "header parameter If-Match: new and required"),
        "a removed response field": (lambda new: schemas(new)["Thing"]["properties"].pop("id"),
                                     ".id: removed from the response"),
        "a changed status": (created_becomes_ok, "response 201: removed"),
    }
    for what, (edit, line) in refused.items():
        result, message = outcome(edit)
        assert (what, result) == (what, "breaking") and line in message, message
        assert yaml.safe_load(target.read_text()) == BASE  # the released schema is left as it was

    def additive(new):
        new["paths"]["/api/v1/things/"]["get"]["parameters"].append(
            {"in": "query", "name": "entity", "schema": {"type": "string"}})
        schemas(new)["Thing"]["properties"]["memo"] = {"type": "string"}
    assert outcome(additive)[0] == "updated"


def test_the_live_schema_keeps_the_released_v1():
    """make test holds every change to the released v1 (docs/api/v1-schema.yaml): nothing breaking."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiYamlRenderer

    released = (ROOT / release.API_SCHEMA).read_text()
    live = OpenApiYamlRenderer().render(SchemaGenerator().get_schema(request=None, public=True),
                                        renderer_context={}).decode()
    assert release.api_schema_findings(released, live) == []
    assert len(yaml.safe_load(released)["paths"]) >= 60  # the real schema, not a stub
