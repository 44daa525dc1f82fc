"""Request id and database context for every request (see sheshi/db/context.py)."""
from __future__ import annotations

import contextvars
import functools
import ipaddress
import re
import uuid

from django.conf import settings

from sheshi.access.memo import recall, remember, request_scope
from sheshi.db.context import context_was_set, set_context, swap_context

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# Who is acting, for log lines (set with the database context; see apply_user_context).
user_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("user_id", default="")
org_ids_var: contextvars.ContextVar[str] = contextvars.ContextVar("org_ids", default="")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def trusted_proxies() -> tuple[Network, ...]:
    """``SHESHI_TRUSTED_PROXIES`` (IPs or CIDRs) as networks; empty by default."""
    return _networks(tuple(getattr(settings, "SHESHI_TRUSTED_PROXIES", ()) or ()))


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_addr(request) -> str:
    """The address of the client, for login lockout (django-axes), throttling and audit events.

    REMOTE_ADDR, unless the direct peer is a trusted proxy (``SHESHI_TRUSTED_PROXIES``): then
    X-Forwarded-For is read from the right, skipping trusted proxies, and the first address that is
    not one is the client (the "rightmost untrusted hop": a client can prepend anything to the
    header, but not what the proxies append). A malformed hop ends the walk at the last proxy."""
    peer = request.META.get("REMOTE_ADDR", "") or ""
    networks = trusted_proxies()
    peer_ip = _ip(peer) if networks else None
    if peer_ip is None or not any(peer_ip in net for net in networks):
        return peer
    addr = str(peer_ip)
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop_ip = _ip(hop)
        if hop_ip is None:
            break
        addr = str(hop_ip)
        if not any(hop_ip in net for net in networks):
            break
    return addr


class RequestIdMiddleware:
    """Accept a well-formed X-Request-ID or make one; echo it on the response and in logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid
        token = request_id_var.set(rid)
        user_token, orgs_token = user_id_var.set(""), org_ids_var.set("")
        try:
            with request_scope():
                response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            user_id_var.reset(user_token)
            org_ids_var.reset(orgs_token)
        response["X-Request-ID"] = rid
        return response


def _parse_orgs(text: str) -> tuple[int, ...]:
    return tuple(int(i) for i in text.split(",") if i)


def _context_values(request, user) -> dict[str, str]:
    authenticated = getattr(user, "is_authenticated", False)
    return {
        # Superusers too get an explicit list (sheshi_user_scope_org_ids): '*' is the system role's only.
        "sheshi.org_ids": "",
        "sheshi.actor_id": str(user.pk) if authenticated else "",
        "sheshi.actor_label": f"user:{user.get_username()}" if authenticated else "",
        "sheshi.request_id": getattr(request, "request_id", ""),
        "sheshi.client_addr": client_addr(request),
    }


def apply_user_context(request, user) -> dict[str, str]:
    """Point the session's tenant scope and actor at this user for the rest of the request, in
    one round trip; returns the context it replaced."""
    authenticated = getattr(user, "is_authenticated", False)
    values = _context_values(request, user)
    orgs_of_user = None
    if authenticated:
        # The same memo key as sheshi.tenancy.scoping.organisation_ids_for: one look-up per request.
        known = recall(("org_ids", user.pk))
        if known is None:
            orgs_of_user = user.pk  # computed by PostgreSQL in the same statement
        else:
            values["sheshi.org_ids"] = ",".join(str(i) for i in known)
    previous, orgs = swap_context(values, orgs_of_user=orgs_of_user)
    if orgs_of_user is not None:
        remember(("org_ids", user.pk), lambda: _parse_orgs(orgs))
    user_id_var.set(str(user.pk) if authenticated else "")
    org_ids_var.set(orgs)
    return previous


def user_context_applied(user, values: dict[str, str]) -> None:
    """Note that a statement of the caller's own has set ``values`` (the user's context, org ids
    included) on the session, as apply_user_context would have."""
    context_was_set(values)
    orgs = values["sheshi.org_ids"]
    remember(("org_ids", user.pk), lambda: _parse_orgs(orgs))
    user_id_var.set(str(user.pk))
    org_ids_var.set(orgs)


def connection_for_context():
    from django.db import connections

    return connections["default"]


class DeferredContext:
    """The anonymous context of a request that carries a bearer token, not yet set on the session.

    The token's authentication sets it in its own statement, together with the look-up of the token
    and, once the token holds, the user's context (sheshi/access/services/tokens.py): one round trip
    instead of three. Should any other statement reach the database first, this (an execute
    wrapper on the connection for the request) sets the context before it, as the middleware did."""

    def __init__(self, values: dict[str, str]):
        self.values = values
        self.pending = True
        self.previous: dict[str, str] | None = None

    def take(self) -> bool:
        """True, once: the caller sets the context itself, and reports the context it replaced
        with ``replaced``. False when the context is set already."""
        if not self.pending:
            return False
        self.pending = False
        return True

    def replaced(self, previous: dict[str, str]) -> None:
        self.previous = previous

    def give_back(self) -> None:
        """The caller's statement failed: nothing was set."""
        self.pending = True

    def __call__(self, execute, sql, params, many, context):
        if self.pending:
            self.pending = False
            self.previous, _ = swap_context(self.values)
        return execute(sql, params, many, context)


def deferred_context(request) -> DeferredContext | None:
    return getattr(request, "sheshi_deferred_context", None)


class DatabaseContextMiddleware:
    """Set tenant scope and actor for session-authenticated requests; restore afterwards.

    Token-authenticated API requests are only known inside DRF; its authentication classes call
    apply_user_context again once the user is known (sheshi/api/authentication.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not getattr(user, "is_authenticated", False) \
                and request.META.get("HTTP_AUTHORIZATION", "").startswith("Bearer "):
            # A token request: its context is set by the token's own statement (DeferredContext).
            deferred = DeferredContext(_context_values(request, user))
            request.sheshi_deferred_context = deferred
            with connection_for_context().execute_wrapper(deferred):
                try:
                    return self.get_response(request)
                finally:
                    if deferred.previous is not None:
                        self._restore(deferred.previous)
        previous = apply_user_context(request, user)
        try:
            return self.get_response(request)
        finally:
            self._restore(previous)

    @staticmethod
    def _restore(previous: dict[str, str]) -> None:
        try:
            set_context(previous)
        except Exception:  # noqa: BLE001 - a broken connection is closed by Django anyway
            connection_for_context().close()
