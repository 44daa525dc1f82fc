"""Per-connection context that PostgreSQL itself enforces.

Three custom settings travel with every database session:

* ``sheshi.org_ids`` – the organisations this session may see. Row-level security policies on
  tenant-owned tables compare against it, so a query that forgets its tenant filter still returns
  nothing of another organisation. ``''`` sees nothing (the default), ``'*'`` is the system scope
  that management commands and jobs opt into explicitly.
* ``sheshi.actor_id`` / ``sheshi.actor_label`` – who is acting. Audit triggers refuse a write
  when no actor is set, so no change can be made anonymously, whatever the code path.
* ``sheshi.request_id`` / ``sheshi.client_addr`` – carried into audit events.

Values are set at session level (not ``SET LOCAL``) because Django runs most requests in
autocommit; every context restores what it found on exit so a reused connection never leaks
one request's scope into the next.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from django.db import connections
from django.db.backends.signals import connection_created
from django.dispatch import receiver

ALL_ORGS = "*"
KEYS = ("sheshi.org_ids", "sheshi.actor_id", "sheshi.actor_label", "sheshi.request_id", "sheshi.client_addr")


def _format_orgs(org_ids: Iterable[int] | str | None) -> str | None:
    if org_ids is None:
        return None
    if isinstance(org_ids, str):
        if org_ids not in ("", ALL_ORGS):
            raise ValueError("org_ids must be ids, '' or '*'")
        return org_ids
    return ",".join(str(int(i)) for i in sorted(set(org_ids)))


def current_context(using: str = "default") -> dict[str, str]:
    with connections[using].cursor() as cur:
        cur.execute("SELECT " + ", ".join("coalesce(current_setting(%s, true), '')" for _ in KEYS), KEYS)
        return dict(zip(KEYS, cur.fetchone(), strict=True))


def _apply(wrapper, values: dict[str, str]) -> None:
    keys = list(values)
    sql = "SELECT " + ", ".join("set_config(%s, %s, false)" for _ in keys)
    params: list[str] = []
    for k in keys:
        params += [k, values[k]]
    with wrapper.cursor() as cur:
        cur.execute(sql, params)


def swap_context(values: dict[str, str], *, orgs_of_user: int | None = None,
                 using: str = "default") -> tuple[dict[str, str], str]:
    """Set ``values`` and return (the whole context as it was, the org ids now set), in one round
    trip: requests do this twice each. With ``orgs_of_user``, ``sheshi.org_ids`` is computed in
    the same statement by the SECURITY DEFINER function ``sheshi_user_scope_org_ids`` (membership rows
    are themselves behind row-level security)."""
    values = dict(values)
    params: list = list(KEYS)
    sets = []
    for k, v in values.items():
        if k == "sheshi.org_ids" and orgs_of_user is not None:
            sets.append("set_config(%s, sheshi_user_scope_org_ids(%s), false)")
            params += [k, orgs_of_user]
        else:
            sets.append("set_config(%s, %s, false)")
            params += [k, v]
    if "sheshi.org_ids" not in values:
        sets.append("current_setting('sheshi.org_ids', true)")
    # MATERIALIZED: the previous values are read before any set_config of the outer query runs.
    # Only constant fragments are joined here; every key and value is a parameter.
    reads = ", ".join(f"coalesce(current_setting(%s, true), '') AS p{i}" for i in range(len(KEYS)))
    sql = f"WITH prev AS MATERIALIZED (SELECT {reads}) SELECT prev.*, {', '.join(sets)} FROM prev"  # nosec B608
    wrapper = connections[using]
    with wrapper.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    previous = dict(zip(KEYS, row[:len(KEYS)], strict=True))
    keys = list(values)
    now_set = dict(zip(keys, row[len(KEYS):len(KEYS) + len(keys)], strict=True))
    context_was_set(now_set, using)
    orgs = now_set.get("sheshi.org_ids", row[-1]) or ""
    return previous, orgs


def context_was_set(values: dict[str, str], using: str = "default") -> None:
    """Remember ``values``, set on the session by a statement (see set_context)."""
    wrapper = connections[using]
    remembered = getattr(wrapper, "_sheshi_context", {})
    remembered.update(values)
    wrapper._sheshi_context = remembered


def set_context(values: dict[str, str], using: str = "default") -> None:
    """Set context values on the session, and remember them on the connection wrapper so that a
    reconnect (CONN_MAX_AGE expiry, a health check, django-q2 closing stale connections) restores
    them instead of silently dropping the tenant scope and actor mid-command."""
    if not values:
        return
    wrapper = connections[using]
    remembered = getattr(wrapper, "_sheshi_context", {})
    remembered.update(values)
    wrapper._sheshi_context = remembered
    _apply(wrapper, values)


@receiver(connection_created)
def _restore_context_on_reconnect(sender, connection, **kwargs):
    remembered = {k: v for k, v in getattr(connection, "_sheshi_context", {}).items() if v}
    if remembered:
        _apply(connection, remembered)


@contextlib.contextmanager
def db_context(
    *,
    org_ids: Iterable[int] | str | None = None,
    actor_id: int | None = None,
    actor_label: str | None = None,
    request_id: str | None = None,
    client_addr: str | None = None,
    using: str = "default",
) -> Iterator[None]:
    """Set the given parts of the session context for the block, restoring the previous values."""
    wanted: dict[str, str] = {}
    orgs = _format_orgs(org_ids)
    if orgs is not None:
        wanted["sheshi.org_ids"] = orgs
    if actor_id is not None or actor_label is not None:
        wanted["sheshi.actor_id"] = "" if actor_id is None else str(int(actor_id))
        wanted["sheshi.actor_label"] = actor_label or ""
    if request_id is not None:
        wanted["sheshi.request_id"] = request_id
    if client_addr is not None:
        wanted["sheshi.client_addr"] = client_addr
    previous = current_context(using)
    set_context(wanted, using)
    try:
        yield
    finally:
        conn = connections[using]
        # In a failed transaction the restore cannot run; the rollback reverts what this block set
        # inside the transaction, and the connection is discarded or reset on the next request.
        if not (conn.in_atomic_block and conn.needs_rollback) and conn.connection is not None:
            with contextlib.suppress(Exception):
                set_context({k: previous[k] for k in wanted}, using)


def system_context(label: str, *, actor_id: int | None = None, using: str = "default"):
    """Scope for management commands and jobs: every organisation, acting as a named system actor.
    PostgreSQL honours it only for a session of the system role (DATABASE_JOBS_URL; SECURITY.md):
    from the web role the first read of a tenant table is refused (sheshi_system_scope_only)."""
    return db_context(org_ids=ALL_ORGS, actor_id=actor_id, actor_label=f"system:{label}", using=using)
