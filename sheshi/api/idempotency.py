"""``Idempotency-Key`` on every POST that creates (issue #18 item 2).

A client that lost the answer to a create sends the same request again with the same key and gets
the first answer back (``Idempotent-Replayed: true``) instead of a second object. The key is
scoped to the calling user; reused with another request (method, path, query or body) it is
refused with 409 ``idempotency_key_reused``; sent again while the first request is still running,
409 ``idempotency_key_in_use`` (retry shortly). Only successful answers are kept: after a refusal
the client may fix the body and send it again with the same key.

The record is claimed before the view runs and completed after it, each in its own short
transaction, because the services run their own durable transactions. If the process dies between
the claim and the completion, the key stays claimed: whether the service committed is not known,
so the client is told so rather than a second object being created. While the claim is younger
than ``SHESHI_IDEMPOTENCY_ABANDONED_AFTER_SECONDS`` (longer than any request may run) the answer
is 409 ``idempotency_key_in_use`` (retry shortly); after that, 409 ``idempotency_key_abandoned``
(check what happened, then send with a new key). Records, kept or abandoned, are deleted
``SHESHI_IDEMPOTENCY_RETENTION_HOURS`` after their request (``idempotency_records_purge``, hourly
through django-q2 and ``manage.py idempotency_purge``); the key is then free again.

Journal entries and integration batches keep their key on their own row, written in the posting's
transaction (ledger/services/entries.py, ledger/services/batch.py), so no claim can outlive its
request there; they answer by the same rules and do not use this wrapper.

A key is the caller's across every create endpoint: one first used for one endpoint and then sent
to another is refused with 409 ``idempotency_key_reused`` naming the first use, wherever that use
is kept (this module's records, the journal entries' or the batches'). PostgreSQL decides it, in
the insert that keeps the key (ledger/sql/0029_idempotency_key_one_use.sql: a lock on the user and
key held to commit, then a look in the other places), so two requests racing with one key to two
endpoints are settled too: the second waits for the first and is refused.
"""
from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from sheshi.api.models import IdempotencyRecord
from sheshi.errors import CommonErrorCode, Conflict, FieldError, ValidationFailed, from_db_error

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 128
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("Location", "ETag")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER,
    description="Optional, up to 128 printable ASCII characters, unique per request you mean. A retry with the "
                "same key and the same request returns the first answer (header Idempotent-Replayed: true); the "
                "same key with another request, or first used for another create endpoint, is refused (409 "
                "idempotency_key_reused, naming the first use).")
REPLAYED_HEADER_PARAMETER = OpenApiParameter(
    REPLAYED_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201, 202, 204], enum=["true"],
    description="Present (true) when this answer is the stored answer to an earlier request with the same "
                "Idempotency-Key.")


class IdempotencyKeyInUse(Conflict):
    error = CommonErrorCode.IDEMPOTENCY_KEY_IN_USE


class IdempotencyKeyReused(Conflict):
    error = CommonErrorCode.IDEMPOTENCY_KEY_REUSED


class IdempotencyKeyAbandoned(Conflict):
    error = CommonErrorCode.IDEMPOTENCY_KEY_ABANDONED


def idempotency_key(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None or key == "":
        return None
    if len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise ValidationFailed("The Idempotency-Key is not valid.", errors=[FieldError(
            HEADER, f"Up to {MAX_KEY_LENGTH} printable ASCII characters.", code="invalid")])
    return key


def request_hash(request) -> str:
    """What makes two requests the same one: method, path, query and body (uploaded files by content)."""
    data = request.data
    if hasattr(data, "lists"):  # form or multipart: fields as lists, files by their SHA-256
        fields = {k: [v if isinstance(v, str) else _file_digest(v) for v in vs] for k, vs in data.lists()}
    else:
        fields = data
    payload = {"method": request.method, "path": request.path, "query": sorted(request.query_params.lists()),
               "body": fields}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _file_digest(upload) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return "sha256:" + digest.hexdigest()


def idempotent(handler):
    """Wrap a view's create handler so an Idempotency-Key makes it safe to retry."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = idempotency_key(request)
        if key is None or not request.user.is_authenticated:
            return handler(view, request, *args, **kwargs)
        fingerprint = request_hash(request)
        record = _claim(request, key, fingerprint)
        if record.status_code is not None:
            return _replay(record)
        try:
            response = handler(view, request, *args, **kwargs)
        except BaseException:
            _release(record)
            raise
        if 200 <= response.status_code < 300:
            _complete(record, response)
        else:
            _release(record)
        return response

    wrapper.idempotent = True
    return wrapper


def _claim(request, key: str, fingerprint: str) -> IdempotencyRecord:
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(user=request.user, key=key, method=request.method,
                                                    path=request.path[:300], request_hash=fingerprint)
    except IntegrityError as exc:
        # First used for another endpoint (the database's idempotency_key_used_elsewhere, named);
        # otherwise this key's own record exists: a replay, a reuse or a request still running.
        if (refusal := from_db_error(exc)) is not None:
            raise refusal from exc
    record = IdempotencyRecord.objects.get(user=request.user, key=key)
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused(f"Idempotency-Key {key!r} was first used for {record.method} {record.path} with "
                                   "another request; use a new key for a new request.")
    if record.status_code is None:
        if record.created_at < timezone.now() - timedelta(seconds=settings.SHESHI_IDEMPOTENCY_ABANDONED_AFTER_SECONDS):
            raise IdempotencyKeyAbandoned(
                f"The request first sent with Idempotency-Key {key!r} at {record.created_at.isoformat()} stopped "
                "before its answer was kept: it may or may not have taken effect. Check (e.g. list the objects), "
                "then send the request again with a new key if it did not.")
        raise IdempotencyKeyInUse(f"A request with Idempotency-Key {key!r} is still being processed; retry shortly.")
    return record


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    """Delete the records older than the retention (kept answers and abandoned claims alike);
    their keys may then be used again. Returns how many were deleted. A claim is never deleted
    before it counts as abandoned, whatever the retention: its request may still be running."""
    keep = max(timedelta(hours=settings.SHESHI_IDEMPOTENCY_RETENTION_HOURS),
               timedelta(seconds=settings.SHESHI_IDEMPOTENCY_ABANDONED_AFTER_SECONDS))
    cutoff = (now or timezone.now()) - keep
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _complete(record: IdempotencyRecord, response: Response) -> None:
    record.status_code = response.status_code
    # Kept as the client received it: rendered by the same JSON renderer (dates, decimals), read back.
    record.response_body = json.loads(JSONRenderer().render(getattr(response, "data", None)) or b"null")
    record.response_headers = {h: response[h] for h in KEPT_HEADERS if response.has_header(h)}
    record.completed_at = timezone.now()
    record.save(update_fields=["status_code", "response_body", "response_headers", "completed_at"])


def _release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def _replay(record: IdempotencyRecord) -> Response:
    return Response(record.response_body, status=record.status_code,
                    headers={**record.response_headers, REPLAYED_HEADER: "true"})
