"""The one permission check every service uses: deny unless granted.

Guardian's ``user.has_perm(perm, obj)`` runs two queries per call (a fresh checker each time),
and one API request checks the same entity two to four times. Here one query reads every
permission the user holds on the entity, directly or through groups, remembered for the rest of
the request (sheshi/access/memo.py).
"""
from __future__ import annotations

from django.db import connection

from sheshi.access.memo import remember
from sheshi.errors import PermissionDenied

# Same tables guardian reads (direct-FK object permissions on Entity, sheshi/tenancy/models.py).
_ENTITY_PERMS_SQL = """
    SELECT p.codename FROM tenancy_entityuserobjectpermission uop
      JOIN auth_permission p ON p.id = uop.permission_id
     WHERE uop.user_id = %(user)s AND uop.content_object_id = %(entity)s
    UNION
    SELECT p.codename FROM tenancy_entitygroupobjectpermission gop
      JOIN auth_user_groups ug ON ug.group_id = gop.group_id
      JOIN auth_permission p ON p.id = gop.permission_id
     WHERE ug.user_id = %(user)s AND gop.content_object_id = %(entity)s
"""


# What each permission lets a person do, in the words a refusal uses (never the codename).
PERMISSION_PHRASES = {
    "tenancy.view_entity_data": "see this entity's figures",
    "tenancy.prepare_entries": "prepare journal entries",
    "tenancy.approve_entries": "approve or post journal entries",
    "tenancy.close_periods": "close periods",
    "tenancy.reopen_periods": "reopen periods",
    "tenancy.audit_entity": "audit this entity",
    "tenancy.manage_roles": "manage roles",
}


def permission_refusal(perm: str, entity_code: str) -> str:
    return f"You are not allowed to {PERMISSION_PHRASES.get(perm, 'do this')} for entity {entity_code}."


# The same, as an array column of a query on tenancy_entity (one parameter: the user, twice).
ENTITY_PERMS_ARRAY_SQL = """ARRAY(
    SELECT p.codename FROM tenancy_entityuserobjectpermission uop
      JOIN auth_permission p ON p.id = uop.permission_id
     WHERE uop.user_id = %s AND uop.content_object_id = "tenancy_entity"."id"
    UNION
    SELECT p.codename FROM tenancy_entitygroupobjectpermission gop
      JOIN auth_user_groups ug ON ug.group_id = gop.group_id
      JOIN auth_permission p ON p.id = gop.permission_id
     WHERE ug.user_id = %s AND gop.content_object_id = "tenancy_entity"."id")"""


def remember_entity_codenames(actor, entity_id: int, codenames) -> None:
    """What ENTITY_PERMS_ARRAY_SQL read with the entity, kept as entity_codenames would keep it."""
    remember(("entity_perms", actor.pk, entity_id), lambda: frozenset(codenames))


def entity_codenames(actor, entity_id: int) -> frozenset[str]:
    """Codenames of the object permissions ``actor`` holds on entity ``entity_id``."""
    def query() -> frozenset[str]:
        with connection.cursor() as cur:
            cur.execute(_ENTITY_PERMS_SQL, {"user": actor.pk, "entity": entity_id})
            return frozenset(row[0] for row in cur.fetchall())

    return remember(("entity_perms", actor.pk, entity_id), query)


def has_entity_perm(actor, perm: str, entity) -> bool:
    """``actor.has_perm(perm, entity)`` for the tenancy permissions, in one cached query.
    Superusers pass; inactive and anonymous users hold nothing (as in guardian)."""
    if actor is None:
        return False
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    app_label, _, codename = perm.partition(".")
    if app_label != "tenancy":
        return actor.has_perm(perm, entity)
    return codename in entity_codenames(actor, entity.pk)


def require_entity_perm(actor, perm: str, entity) -> None:
    """Raise unless ``actor`` holds ``perm`` on ``entity``. ``actor=None`` is the system
    (management commands and jobs running in system_context); superusers pass."""
    if actor is None or actor.is_superuser:
        return
    if not has_entity_perm(actor, perm, entity):
        raise PermissionDenied(permission_refusal(perm, entity.code), perm=perm, entity_code=entity.code)
