"""Grant and revoke entity roles (guardian object permissions). Deny unless granted.

The permission rows are written by the owner's entry points ``tenancy_entity_permission_grant`` /
``tenancy_entity_permission_revoke`` (sheshi/tenancy/sql/0007_entry_points.sql): the application's
roles may read guardian's tables, not write them, and PostgreSQL checks the acting user manages
roles on the entity and the grantee is a member of its organisation."""
from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db import connection, transaction

from sheshi.access.memo import forget
from sheshi.access.roles import ROLE_PERMISSIONS, Role, codename
from sheshi.audit_log import audit_event_record
from sheshi.errors import PermissionDenied, ValidationFailed
from sheshi.tenancy.models import Entity, Membership
from sheshi.tenancy.scoping import is_org_admin


def _check_can_manage(actor, entity: Entity) -> None:
    if actor is None or actor.is_superuser:
        return

    if not (is_org_admin(actor, entity.organisation_id) or actor.has_perm("tenancy.manage_roles", entity)):
        raise PermissionDenied("Only an organisation admin can grant or revoke roles.")


@transaction.atomic
def role_grant(*, actor, user, entity: Entity, role: Role | str) -> None:
    """Give ``user`` the permissions of ``role`` on ``entity``. The user must be a member of the
    entity's organisation: a grant can never reach across tenants."""
    role = Role(role)
    _check_can_manage(actor, entity)
    if not Membership.objects.filter(user=user, organisation_id=entity.organisation_id, is_active=True).exists():
        raise ValidationFailed(f"{user} is not a member of organisation {entity.organisation_id}.")
    _permissions_write("tenancy_entity_permission_grant", user=user, entity=entity, role=role)
    forget()
    _role_event("role.granted", user=user, entity=entity, role=role)


@transaction.atomic
def role_revoke(*, actor, user, entity: Entity, role: Role | str) -> None:
    """Remove the role's permissions. Guardian stores permissions, not roles: a permission shared
    with another role the user still holds must be granted again through that role."""
    role = Role(role)
    _check_can_manage(actor, entity)
    _permissions_write("tenancy_entity_permission_revoke", user=user, entity=entity, role=role)
    forget()
    _role_event("role.revoked", user=user, entity=entity, role=role)


def _permissions_write(function: str, *, user, entity: Entity, role: Role) -> None:
    codenames = [codename(perm) for perm in ROLE_PERMISSIONS[role]]
    with connection.cursor() as cur:
        # `function` is one of the two names above, never input.
        cur.execute(f"SELECT {function}(%s, %s, %s, NULL)", [entity.pk, codenames, user.pk])  # nosec B608


def _role_event(action: str, *, user, entity: Entity, role: Role) -> None:
    """The role-level event beside the per-permission rows the audit trigger records."""
    audit_event_record(organisation_id=entity.organisation_id, action=action, object_type="tenancy.entity",
                       object_id=entity.pk, changes={"user_id": user.pk, "username": user.get_username(),
                                                     "role": role.value, "permissions": list(ROLE_PERMISSIONS[role])})


def entity_permission_codenames() -> list[str]:
    return list(Permission.objects.filter(content_type__app_label="tenancy", content_type__model="entity")
                .values_list("codename", flat=True))
