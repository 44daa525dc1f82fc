"""``ETag`` / ``If-Match`` on editable objects (issue #18 item 2).

A detail read answers with the object's ETag (a hash of its representation). Every change to the
object (PATCH/PUT/DELETE, or a state-changing action such as submit, approve, post, void, lock,
assign, sign-off, review, move) requires ``If-Match`` with that ETag: without one (or with only
``*``) it is refused with 428 ``precondition_required``, with another version's with 412
``precondition_failed``; nothing is written either way, and a success carries the new ETag.

Creating something under an object (a comment, an attachment, evidence, a reversal, an entry
from a template: the ``@idempotent`` handlers) is a create, governed by ``Idempotency-Key``;
If-Match is optional there and honoured when sent. ``if_match_optional`` names any other action
that stays optional, with its reason.

Journal-entry drafts compare If-Match under the entry's row lock (ledger/etags.py,
ledger/services/entries.py); for the other objects the comparison is made when the view loads the
object, just before the service takes its lock, which catches the stale screen a user acts from
but not a change in the milliseconds between.
"""
from __future__ import annotations

import hashlib
import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from sheshi.errors import PreconditionFailed, PreconditionRequired

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
                    + ("; without If-Match (or with only *) it is refused with 428 precondition_required."
                       if required else "; without If-Match the change is made unconditionally (this operation "
                                        "creates something: Idempotency-Key makes its retry safe)."))


def if_match_tags(header: str | None) -> list[str]:
    """The entity tags of an If-Match header (weak tags never match a strong comparison)."""
    return [tag.strip() for tag in (header or "").split(",") if tag.strip() and not tag.strip().startswith("W/")]


def representation_etag(data) -> str:
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


class ConditionalWriteMixin:
    """For a viewset over an editable object: ETag on reads and writes, If-Match required on changes."""

    conditional_writes = True  # read by the OpenAPI schema (sheshi/api/error_schema.py): 412/428 documented
    # Actions whose service compares If-Match itself, under its row lock and after its own checks.
    if_match_checked_by_service: tuple[str, ...] = ()
    # Changes (not creates) that may still be made without If-Match: none so far.
    if_match_optional: tuple[str, ...] = ()

    def if_match_required_for(self, action: str | None) -> bool:
        """Whether a write through ``action`` needs If-Match (read by the OpenAPI schema too)."""
        handler = getattr(self, action, None) if action else None
        return not getattr(handler, "idempotent", False) and action not in self.if_match_optional

    def etag_for(self, obj) -> str:
        return representation_etag(self.get_serializer_class()(obj, context=self.get_serializer_context()).data)

    def get_object(self):
        obj = super().get_object()
        self.if_match_check(obj)
        return obj

    def if_match_check(self, obj) -> None:
        """428 when a change to ``obj`` comes without If-Match, 412 when its If-Match names another
        version. get_object() calls it; an action that loads its object another way calls it itself."""
        if self.request.method not in WRITE_METHODS:
            return
        tags = if_match_tags(self.request.headers.get("If-Match"))
        if self.if_match_required_for(self.action) and not [tag for tag in tags if tag != "*"]:
            raise PreconditionRequired(f"Send If-Match with the ETag of {type(obj).__name__} {obj.pk} as you last "
                                       "read it (GET answers it in the ETag header) to change it.")
        if self.action not in self.if_match_checked_by_service and tags and "*" not in tags \
                and self.etag_for(obj) not in tags:
            raise PreconditionFailed(f"{type(obj).__name__} {obj.pk} changed since you read it (If-Match names "
                                     "another version): read it again and redo the change.")

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
