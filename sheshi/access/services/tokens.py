"""Issue and authenticate hashed, expiring, scoped API tokens.

A token reads ``shs_<prefix>_<secret>``. The prefix finds the row; the secret is compared by
its SHA-256 in constant time. SHA-256 (not a slow password hash) is right here: the secret is
32 random bytes, so there is nothing to brute-force, and every API call must verify quickly.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import authentication, exceptions

from sheshi.access.locks import api_tokens_for_update
from sheshi.access.models import ApiToken, TokenScope
from sheshi.db.compiled import compiled_query, convert_row, execute_prepared, run_compiled
from sheshi.db.context import KEYS, context_was_set, set_context
from sheshi.errors import FieldError, NotFound, ValidationFailed
from sheshi.request_context import apply_user_context, deferred_context, user_context_applied

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


MAX_TOKEN_DAYS = 366


@transaction.atomic
def api_token_issue(*, user, name: str, scopes: list[str], days: int = 90) -> tuple[ApiToken, str]:
    """Create a token for ``user``; the plain value is returned once and never stored. The
    platform audit trigger on access_apitoken records the issue (the hash, never the secret)."""
    unknown = set(scopes) - set(TokenScope.values)
    if unknown or not scopes:
        raise ValidationFailed("Unknown or missing token scopes.",
                               errors=[FieldError("scopes", f"Allowed: {', '.join(TokenScope.values)}")])
    if not (name or "").strip():
        raise ValidationFailed("A token needs a name.", errors=[FieldError("name", "Required.", code="required")])
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValidationFailed("Token lifetime out of range.", errors=[FieldError(
            "days", f"Between 1 and {MAX_TOKEN_DAYS}.", code="out_of_range", value=days)])
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, key_hash=_hash(secret),
                                    scopes=sorted(set(scopes)), expires_at=now + timedelta(days=days))
    return token, f"shs_{prefix}_{secret}"


@transaction.atomic(durable=True)
def api_token_revoke(*, token_id: int, user) -> ApiToken:
    """Revoke one of ``user``'s own tokens (another user's is not found). Revoking twice keeps the
    first revocation time."""
    token = api_tokens_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound(f"API token {token_id} not found.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def _token_query(prefix: str) -> QuerySet:
    user_fields = [f"user__{f.attname}" for f in get_user_model()._meta.concrete_fields]
    return ApiToken.objects.filter(prefix=prefix).order_by("pk") \
        .values_list(*(f.attname for f in ApiToken._meta.concrete_fields), *user_fields)[:1]


def _token_with_user(prefix: str) -> ApiToken | None:
    """The token with ``prefix`` and its user, as select_related would load them, from SQL compiled
    once per process (sheshi/db/compiled.py): every API call starts here."""
    rows = run_compiled(("api_token_by_prefix",), _token_query, prefix)
    if not rows:
        return None
    token_names = [f.attname for f in ApiToken._meta.concrete_fields]
    user_model = get_user_model()
    token = ApiToken.from_db("default", token_names, rows[0][:len(token_names)])
    token.user = user_model.from_db("default", [f.attname for f in user_model._meta.concrete_fields],
                                    rows[0][len(token_names):])
    return token


# One statement for a token request (DeferredContext, sheshi/request_context.py): the session's
# context as it was, the token and its user (the ORM's own query, compiled once), and the context
# set — the user's when the token holds (the checks below, made again in Python, which decides),
# the anonymous one otherwise, as the middleware would have set it. The token and user tables have
# no row-level security; the look-up reads them before any setting changes (MATERIALIZED). Only
# constant fragments are joined (the setting names, the ORM's compiled SQL): values are parameters.
_CONTEXT_READS = ", ".join(f"coalesce(current_setting('{k}', true), '') AS sheshi_p{i}" for i, k in enumerate(KEYS))
_TOKEN_WITH_CONTEXT = (
    "WITH prev AS MATERIALIZED (SELECT " + _CONTEXT_READS + "), tok AS MATERIALIZED ({token_sql}) "  # nosec B608
    "SELECT prev.*, tok.*, v.ok, "
    "set_config('sheshi.org_ids', CASE WHEN v.ok THEN sheshi_user_scope_org_ids(tok.user_id) ELSE '' END, false), "
    "set_config('sheshi.actor_id', CASE WHEN v.ok THEN tok.user_id::text ELSE '' END, false), "
    "set_config('sheshi.actor_label', CASE WHEN v.ok THEN 'user:' || tok.user__username ELSE '' END, false), "
    "set_config('sheshi.request_id', %s, false), set_config('sheshi.client_addr', %s, false) "
    "FROM prev LEFT JOIN tok ON true CROSS JOIN LATERAL ("
    "  SELECT coalesce(tok.key_hash = %s AND tok.revoked_at IS NULL AND tok.expires_at > now() "
    "                  AND tok.user__is_active AND (%s OR tok.scopes ? 'write'), false) AS ok) v")


def _token_and_context(prefix: str, key_hash: str, safe: bool, values: dict[str, str]):
    """(token with its user or None, whether PostgreSQL set the user's context, the context it
    replaced, the context now set), in one round trip."""
    token_sql, token_params, converters = compiled_query(("api_token_by_prefix",), _token_query, prefix)
    sql = _TOKEN_WITH_CONTEXT.format(token_sql=token_sql)  # constant fragments only; values are parameters
    params = [*token_params, values["sheshi.request_id"], values["sheshi.client_addr"], key_hash, safe]
    with connection.cursor() as cur:
        execute_prepared(cur, ("api_token_with_context",), sql, params)
        row = cur.fetchone()
    n = len(KEYS)
    previous = dict(zip(KEYS, row[:n], strict=True))
    token_row, (ok, *now_set) = row[n:-len(KEYS) - 1], row[-len(KEYS) - 1:]
    current = dict(zip(KEYS, now_set, strict=True))
    if token_row[0] is None:
        return None, ok, previous, current
    token_row = convert_row(token_row, converters)
    token_names = [f.attname for f in ApiToken._meta.concrete_fields]
    user_model = get_user_model()
    token = ApiToken.from_db("default", token_names, token_row[:len(token_names)])
    token.user = user_model.from_db("default", [f.attname for f in user_model._meta.concrete_fields],
                                    token_row[len(token_names):])
    return token, ok, previous, current


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(self.keyword + " "):
            return None
        raw = header[len(self.keyword) + 1:].strip()
        parts = raw.split("_", 2)
        if len(parts) != 3 or parts[0] != "shs":
            raise exceptions.AuthenticationFailed("Malformed API token.")
        deferred = deferred_context(request._request)
        if deferred is None or not deferred.take():
            token = _token_with_user(parts[1])
            self._check(request, token, parts[2])
            apply_user_context(request._request, token.user)
            return token.user, token
        try:
            token, ok, previous, current = _token_and_context(parts[1], _hash(parts[2]),
                                                              request.method in SAFE_METHODS, deferred.values)
        except BaseException:
            deferred.give_back()  # the statement failed: nothing was set
            raise
        deferred.replaced(previous)
        context_was_set(current)
        try:
            self._check(request, token, parts[2])
        except exceptions.APIException:
            if ok:  # PostgreSQL's clock said the token held, Python's did not: back to anonymous
                set_context(deferred.values)
            raise
        if ok:
            user_context_applied(token.user, current)
        else:  # the other way round: the user's context as usual
            apply_user_context(request._request, token.user)
        return token.user, token

    @staticmethod
    def _check(request, token: ApiToken | None, secret: str) -> None:
        if token is None or not hmac.compare_digest(token.key_hash, _hash(secret)):
            raise exceptions.AuthenticationFailed("Invalid API token.")
        now = timezone.now()
        if token.revoked_at is not None or token.expires_at <= now:
            raise exceptions.AuthenticationFailed("API token expired or revoked.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive.")
        if request.method not in SAFE_METHODS and TokenScope.WRITE not in token.scopes:
            raise exceptions.PermissionDenied("This API token is read-only.")
        # Coarse last-use stamp: at most one write a minute per token keeps reads cheap.
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)

    def authenticate_header(self, request):
        return self.keyword
