"""Roles are named sets of guardian object permissions on an Entity.

A user may hold different roles on different entities. Nothing is allowed unless granted.
"""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    PREPARER = "preparer"
    APPROVER = "approver"
    CONTROLLER = "controller"
    AUDITOR = "auditor"
    ORG_ADMIN = "org_admin"


VIEW = "tenancy.view_entity_data"
PREPARE = "tenancy.prepare_entries"
APPROVE = "tenancy.approve_entries"
CLOSE = "tenancy.close_periods"
REOPEN = "tenancy.reopen_periods"
AUDIT = "tenancy.audit_entity"
MANAGE = "tenancy.manage_roles"

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.VIEWER: (VIEW,),
    Role.PREPARER: (VIEW, PREPARE),
    Role.APPROVER: (VIEW, APPROVE),
    Role.CONTROLLER: (VIEW, PREPARE, APPROVE, CLOSE, REOPEN),
    Role.AUDITOR: (VIEW, AUDIT),
    Role.ORG_ADMIN: (VIEW, MANAGE),
}


def codename(perm: str) -> str:
    return perm.split(".", 1)[1]
