"""Writes to one existing object need If-Match with its current ETag (sheshi/api/conditional.py:
428 without, 412 when stale). Tests that exercise something else than that rule send the version
they read, as a client does: ``if_match(client, url)`` reads the object the URL acts on."""
from __future__ import annotations

import re

# /api/v1/<things>/<id>/ or /api/v1/<things>/<id>/<action>/ (an action on one object)
_DETAIL = re.compile(r"^(?P<object>/api/v1/[a-z-]+/\d+/)(?:[a-z-]+/)?(?:\?.*)?$")


def if_match(client, url: str) -> dict:
    """``{"If-Match": <ETag>}`` of the object ``url`` writes to, as ``client`` reads it now; empty
    when the URL is not one object's or the client cannot read it (the write then answers why)."""
    match = _DETAIL.match(url)
    if not match:
        return {}
    read = client.get(match["object"])
    return {"If-Match": read["ETag"]} if read.status_code == 200 and read.has_header("ETag") else {}


def post_if_match(client, url: str, data=None, **kwargs):
    """``client.post`` with the If-Match of the object ``url`` acts on (none for a collection's URL)."""
    headers = kwargs.pop("headers", {})
    if "HTTP_IF_MATCH" not in kwargs and "If-Match" not in headers:  # a test's own If-Match stands
        headers = {**if_match(client, url), **headers}
    return client.post(url, data if data is not None else {}, headers=headers, **kwargs)
