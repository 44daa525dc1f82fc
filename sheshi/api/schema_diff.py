"""Breaking changes between two OpenAPI 3 descriptions of /api/v1 (the versioning policy in
README.md, "API versions"; checked by scripts/release.py against docs/api/v1-schema.yaml).

Breaking, for a client written against the old description:
  - a path or an operation removed (unless the old description had marked it deprecated),
  - a parameter or request-body field that becomes required, or a new required one,
  - a type changed (request or response), a request field or enum value dropped, null no
    longer accepted, a response field removed, made optional or made nullable,
  - a response status code removed, a request content type removed.
Not breaking: new paths, operations, optional parameters and fields, response fields, status
codes, and descriptions. Pure functions over parsed YAML/JSON: no Django needed.
"""
from __future__ import annotations

from typing import Any

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REQUEST, RESPONSE = "request", "response"


class _Resolver:
    def __init__(self, spec: dict):
        self.spec = spec

    def __call__(self, node: Any) -> Any:
        """Follow $ref (local ones) and merge allOf, as a reader of the schema would."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen or not ref.startswith("#/"):
                return {}
            seen.add(ref)
            target: Any = self.spec
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            node = target
        if isinstance(node, dict) and "allOf" in node:
            merged: dict = {k: v for k, v in node.items() if k != "allOf"}
            for part in node["allOf"]:
                part = self(part)
                merged.setdefault("properties", {}).update(part.get("properties", {}))
                merged["required"] = sorted(set(merged.get("required", [])) | set(part.get("required", [])))
                for key in ("type", "format", "enum", "items", "nullable"):
                    if key in part:
                        merged.setdefault(key, part[key])
            return merged
        return node if isinstance(node, dict) else {}


def _type(schema: dict) -> Any:
    t = schema.get("type")
    if t is None and "properties" in schema:
        return "object"
    return t


def _schema_changes(old: dict, new: dict, where: str, direction: str, r_old: _Resolver, r_new: _Resolver,
                    depth: int = 0) -> list[str]:
    if depth > 30:
        return []
    old, new = r_old(old), r_new(new)
    out: list[str] = []
    t_old, t_new = _type(old), _type(new)
    if t_old and t_new and t_old != t_new:
        return [f"{where}: type changed from {t_old} to {t_new}"]
    if old.get("format") and new.get("format") and old["format"] != new["format"]:
        out.append(f"{where}: format changed from {old['format']} to {new['format']}")
    if direction == REQUEST:
        if old.get("nullable") and not new.get("nullable"):
            out.append(f"{where}: no longer accepts null")
        if "enum" in old and "enum" in new:
            dropped = [v for v in old["enum"] if v not in new["enum"]]
            if dropped:
                out.append(f"{where}: no longer accepts {', '.join(map(str, dropped))}")
        elif "enum" in new and "enum" not in old:
            out.append(f"{where}: now limited to {', '.join(map(str, new['enum']))}")
    else:
        if new.get("nullable") and not old.get("nullable"):
            out.append(f"{where}: may now be null")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    if direction == REQUEST:
        for name in sorted(old_props):
            if name not in new_props:  # sent by old clients, silently ignored from now on
                out.append(f"{where}.{name}: no longer accepted")
        for name in sorted(new_req - old_req):
            if name not in old_props:
                out.append(f"{where}.{name}: new required field")
            else:
                out.append(f"{where}.{name}: now required")
    else:
        for name in sorted(old_props):
            if name not in new_props:
                out.append(f"{where}.{name}: removed from the response")
        for name in sorted((old_req - new_req) & set(new_props)):
            out.append(f"{where}.{name}: no longer always present")
    for name in sorted(set(old_props) & set(new_props)):
        out += _schema_changes(old_props[name], new_props[name], f"{where}.{name}", direction, r_old, r_new,
                               depth + 1)
    if "items" in old and "items" in new:
        out += _schema_changes(old["items"], new["items"], f"{where}[]", direction, r_old, r_new, depth + 1)
    if isinstance(old.get("additionalProperties"), dict) and isinstance(new.get("additionalProperties"), dict):
        out += _schema_changes(old["additionalProperties"], new["additionalProperties"], f"{where}{{}}", direction,
                               r_old, r_new, depth + 1)
    return out


def _params(op: dict, path_item: dict, resolve: _Resolver) -> dict[tuple[str, str], dict]:
    params = [resolve(p) for p in path_item.get("parameters", []) + op.get("parameters", [])]
    return {(p.get("in", ""), p.get("name", "")): p for p in params}


def _operation_changes(where: str, old_op: dict, new_op: dict, old_item: dict, new_item: dict,
                       r_old: _Resolver, r_new: _Resolver) -> list[str]:
    out: list[str] = []
    old_params, new_params = _params(old_op, old_item, r_old), _params(new_op, new_item, r_new)
    for key, p in sorted(new_params.items()):
        was = old_params.get(key)
        label = f"{where} {key[0]} parameter {key[1]}"
        if p.get("required") and (was is None or not was.get("required")):
            out.append(f"{label}: {'new and required' if was is None else 'now required'}")
        if was is not None:
            out += _schema_changes(was.get("schema", {}), p.get("schema", {}), label, REQUEST, r_old, r_new)
    old_body, new_body = r_old(old_op.get("requestBody", {})), r_new(new_op.get("requestBody", {}))
    if new_body.get("required") and not old_body.get("required"):
        out.append(f"{where} request body: now required")
    old_content, new_content = old_body.get("content", {}), new_body.get("content", {})
    for media in sorted(old_content):
        if media not in new_content:
            if new_content:
                out.append(f"{where} request body: {media} no longer accepted")
            continue
        out += _schema_changes(old_content[media].get("schema", {}), new_content[media].get("schema", {}),
                               f"{where} request body ({media})", REQUEST, r_old, r_new)
    old_resp, new_resp = old_op.get("responses", {}), new_op.get("responses", {})
    for code in sorted(old_resp, key=str):
        if code not in new_resp:
            out.append(f"{where} response {code}: removed")
            continue
        old_c = r_old(old_resp[code]).get("content", {})
        new_c = r_new(new_resp[code]).get("content", {})
        for media in sorted(old_c):
            if media not in new_c:
                out.append(f"{where} response {code}: {media} no longer returned")
                continue
            out += _schema_changes(old_c[media].get("schema", {}), new_c[media].get("schema", {}),
                                   f"{where} response {code} ({media})", RESPONSE, r_old, r_new)
    return out


def breaking_changes(old: dict, new: dict) -> list[str]:
    """What in ``new`` breaks a client of ``old`` (both parsed OpenAPI 3 documents), one line each."""
    r_old, r_new = _Resolver(old), _Resolver(new)
    out: list[str] = []
    old_paths, new_paths = old.get("paths", {}) or {}, new.get("paths", {}) or {}
    for path in sorted(old_paths):
        old_item = old_paths[path] or {}
        new_item = new_paths.get(path) or {}
        for method in METHODS:
            old_op = old_item.get(method)
            if old_op is None:
                continue
            where = f"{method.upper()} {path}"
            new_op = new_item.get(method)
            if new_op is None:
                if not old_op.get("deprecated"):
                    out.append(f"{where}: removed" + ("" if path in new_paths else " (path gone)"))
                continue
            out += _operation_changes(where, old_op, new_op, old_item, new_item, r_old, r_new)
    return out
