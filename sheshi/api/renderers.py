"""Renderers for endpoints that answer with a file: a client that asks for the documented
content type (``Accept: <type>``) gets the file instead of 406 Not Acceptable. The view builds
the file itself; what these render is only an error, as JSON (problem+json)."""
from __future__ import annotations

import json

from rest_framework.renderers import BaseRenderer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class XlsxRenderer(BaseRenderer):
    media_type = XLSX
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | bytearray):
            return bytes(data)
        return json.dumps(data, default=str).encode()
