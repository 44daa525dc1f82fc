"""One serializer instance per class and thread, reused request after request, for hot endpoints.

A DRF serializer copies and binds its fields for every instance it makes; for a single API
posting (an entry and its lines in, the same out) that was over a tenth of the request's Python
(bench.ledger.api), for fields that are the same every time. Validating input
(``run_validation``) and rendering output (``to_representation``) keep no state on the
serializer beyond what is passed in, so one instance can do both again and again — one per
thread, as each may be in the middle of a call. Only for serializers whose fields do not depend
on the instance, its data or its context (the context is set for each ``represented`` call).

Refused input is validated again by a new serializer, the ordinary way, so the errors (and the
problem+json built from them) are exactly DRF's."""
from __future__ import annotations

import threading

from rest_framework.exceptions import ValidationError
from rest_framework.serializers import Serializer
from rest_framework.utils.serializer_helpers import ReturnDict

_local = threading.local()


def _instance(cls: type[Serializer]) -> Serializer:
    by_class = _local.__dict__.setdefault("by_class", {})
    serializer = by_class.get(cls)
    if serializer is None:
        serializer = by_class[cls] = cls()
    return serializer


def validated(cls: type[Serializer], data) -> dict:
    """``cls(data=data)``'s validated_data, raising DRF's ValidationError as ``is_valid(raise_exception=True)``."""
    try:
        return _instance(cls).run_validation(data)
    except ValidationError:
        fresh = cls(data=data)
        fresh.is_valid(raise_exception=True)
        return fresh.validated_data  # not reached: the same data is refused the same way


def represented(cls: type[Serializer], instance, context: dict | None = None) -> ReturnDict:
    """``cls(instance, context=context).data``."""
    serializer = _instance(cls)
    serializer._context = context or {}
    try:
        return ReturnDict(serializer.to_representation(instance), serializer=serializer)
    finally:
        serializer._context = {}
