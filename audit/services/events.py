"""Application-level audit events: the same log and chain as the trigger-written ones.

Each call writes through the owner's ``audit_record()`` function on the caller's connection, so
the event belongs to the caller's transaction: it commits with the change it describes or not at
all. The actor, request id and client address come from the session context
(sheshi/db/context.py) that middleware and ``system_context`` set.
"""
from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from audit.models import ORG_PLATFORM
from sheshi.db.context import db_context
from sheshi.request_context import client_addr


def audit_event_record(*, organisation_id: int, action: str, object_type: str, object_id: Any = None,
                       changes: dict[str, Any] | None = None) -> int:
    """Record ``action`` on ``object_type:object_id`` for the organisation; returns the event id.
    Refused by the database when no actor is set or the organisation is outside the session scope."""
    payload = None if changes is None else json.dumps(changes, cls=DjangoJSONEncoder)
    with connection.cursor() as cur:
        cur.execute("SELECT audit_record(%s, %s, %s, %s, %s::jsonb)",
                    [organisation_id, action, object_type, None if object_id is None else str(object_id), payload])
        return cur.fetchone()[0]


def audit_read(request, *, organisation_id: int, object_type: str, object_id: Any = None,
               action: str = "report.read", params: dict[str, Any] | None = None) -> int:
    """Record that the request's user read financial data (a report, a journal, an export).

    Called by views after the read succeeded; query parameters are recorded unless given."""
    if params is None:
        params = {k: request.GET.getlist(k) if len(request.GET.getlist(k)) > 1 else request.GET.get(k)
                  for k in getattr(request, "GET", {})}
    return audit_event_record(organisation_id=organisation_id, action=action, object_type=object_type,
                              object_id=object_id, changes={"path": getattr(request, "path", ""), "params": params})


def user_organisation_ids(user_id: int) -> list[int]:
    """The user's organisations, read through the owner's function (memberships are scoped by RLS)."""
    with connection.cursor() as cur:
        cur.execute("SELECT sheshi_user_org_ids(%s)", [user_id])
        text = cur.fetchone()[0] or ""
    return [int(x) for x in text.split(",") if x]


def auth_event_record(*, action: str, username: str, user_id: int | None, request=None,
                      extra: dict[str, Any] | None = None) -> list[int]:
    """A login/logout event in each of the user's organisations' chains (platform chain when the
    user is unknown or belongs to none). The actor is the user, or ``login:<username>`` for a
    failure, whatever the session's current context."""
    orgs = user_organisation_ids(user_id) if user_id else []
    label = f"user:{username}" if user_id and action != "login.failed" else f"login:{username}"
    context: dict[str, Any] = {"org_ids": orgs or "", "actor_id": user_id if action != "login.failed" else None,
                               "actor_label": label}
    if request is not None:
        context["request_id"] = getattr(request, "request_id", "") or ""
        context["client_addr"] = client_addr(request)
    changes = {"username": username, **(extra or {})}
    ids = []
    with db_context(**context):
        for org_id in orgs or [ORG_PLATFORM]:
            ids.append(audit_event_record(organisation_id=org_id, action=action, object_type="auth.user",
                                          object_id=user_id, changes=changes))
    return ids
