"""``ETag`` / ``If-Match`` on editable objects (issue #18 item 2).

A detail read answers with the object's ETag (a hash of its representation); every change to it
(PATCH, or a state-changing action such as lock, assign, review, move) that sends ``If-Match``
is refused with 412 ``precondition_failed`` when the object changed since that read, and the
answer carries the new ETag. Journal-entry drafts require If-Match on edit (428 without it) and
compare it under the entry's row lock (ledger/etags.py, ledger/services/entries.py); for the other
objects the comparison is made when the view loads the object, just before the service takes its
lock, which catches the stale screen a user acts from but not a change in the milliseconds between.
"""
from __future__ import annotations

import hashlib
import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from sheshi.errors import PreconditionFailed

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# The OpenAPI side (sheshi/api/error_schema.py puts them on every conditional operation).
ETAG_HEADER = OpenApiParameter(
    "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201, 204],
    description="The object's current version (a strong entity tag): send it back as If-Match with a change.")


def if_match_parameter(*, required: bool) -> OpenApiParameter:
    return OpenApiParameter(
        "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=required,
        description="The ETag of the object as you last read it. If the object changed since, the change is "
                    "refused with 412 precondition_failed and nothing is written"
                    + ("; without If-Match it is refused with 428 precondition_required." if required else
                       "; without If-Match the change is made unconditionally."))


def if_match_tags(header: str | None) -> list[str]:
    """The entity tags of an If-Match header (weak tags never match a strong comparison)."""
    return [tag.strip() for tag in (header or "").split(",") if tag.strip() and not tag.strip().startswith("W/")]


def representation_etag(data) -> str:
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


class ConditionalWriteMixin:
    """For a viewset over an editable object: ETag on reads and writes, If-Match honoured on writes."""

    conditional_writes = True  # read by the OpenAPI schema (sheshi/api/error_schema.py): 412/428 documented
    # Actions whose service compares If-Match itself, under its row lock and after its own checks.
    if_match_checked_by_service: tuple[str, ...] = ()

    def etag_for(self, obj) -> str:
        return representation_etag(self.get_serializer_class()(obj, context=self.get_serializer_context()).data)

    def get_object(self):
        obj = super().get_object()
        self.if_match_check(obj)
        return obj

    def if_match_check(self, obj) -> None:
        """412 when a write's If-Match names another version of ``obj``. get_object() calls it; an
        action that loads its object another way calls it itself."""
        if self.request.method in WRITE_METHODS and self.action not in self.if_match_checked_by_service:
            tags = if_match_tags(self.request.headers.get("If-Match"))
            if tags and "*" not in tags and self.etag_for(obj) not in tags:
                raise PreconditionFailed(f"{type(obj).__name__} {obj.pk} changed since you read it (If-Match "
                                         "names an older version): read it again and redo the change.")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        lookup = self.lookup_url_kwarg or self.lookup_field
        # A JSON object about the object, or no body at all (204): the answer carries its new version.
        data = getattr(response, "data", None)
        if 200 <= response.status_code < 300 and lookup in self.kwargs and not response.has_header("ETag") \
                and (isinstance(data, dict) or (response.status_code == 204 and data is None)):
            obj = self.get_queryset().filter(pk=self.kwargs[lookup]).first()
            if obj is not None:
                response["ETag"] = self.etag_for(obj)
        return response
