"""The one place that decides what a user may see: organisations, then entities by permission.

API views and admin pages scope their querysets through these helpers, never by hand. Row-level
security in PostgreSQL repeats the organisation rule underneath (sheshi/db/rls.py).
"""
from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from guardian.shortcuts import get_objects_for_user

from sheshi.access.checks import ENTITY_PERMS_ARRAY_SQL, has_entity_perm, remember_entity_codenames
from sheshi.access.memo import remember
from sheshi.access.roles import VIEW
from sheshi.db.compiled import run_compiled
from sheshi.tenancy.models import Entity, Membership, Organisation


def organisation_ids_for(user) -> list[int]:
    if not getattr(user, "is_authenticated", False):
        return []
    if user.is_superuser:
        return list(Organisation.objects.values_list("id", flat=True))
    return list(remember(("org_ids", user.pk), lambda: tuple(
        Membership.objects.filter(user=user, is_active=True).values_list("organisation_id", flat=True))))


def organisations_for(user) -> QuerySet[Organisation]:
    return Organisation.objects.filter(id__in=organisation_ids_for(user))


def entities_for(user, perm: str = VIEW) -> QuerySet[Entity]:
    """Entities of the user's organisations on which the user holds ``perm`` (superusers: all)."""
    base = Entity.objects.filter(organisation_id__in=organisation_ids_for(user))
    if getattr(user, "is_superuser", False):
        return base
    if not getattr(user, "is_authenticated", False):
        return base.none()
    return get_objects_for_user(user, perm, klass=base, accept_global_perms=False)


def entity_ids_for(user, perm: str = VIEW) -> list[int]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(remember(("entity_ids", user.pk, perm),
                         lambda: tuple(entities_for(user, perm).values_list("id", flat=True))))


def entity_by_code(user, code: str, perm: str = VIEW) -> Entity | None:
    """The entity with ``code`` in the user's organisations: one the user holds ``perm`` on if
    any, else one they may view (so the service can say which permission is missing), else None."""
    # Who may do what on the entity comes back with it (one round trip, not two); the SQL is
    # compiled once per shape (sheshi/db/compiled.py).
    with_perms = getattr(user, "is_authenticated", False) and user.is_active and not user.is_superuser
    orgs = tuple(int(i) for i in organisation_ids_for(user))
    if with_perms:
        rows = run_compiled(("entity_by_code", True), _entity_by_code_with_perms, orgs, code, int(user.pk))
    else:
        rows = run_compiled(("entity_by_code", False), _entity_by_code, orgs, code)
    names = _entity_attnames()
    candidates = []
    for row in rows:
        entity = Entity.from_db("default", names, row[:len(names)])
        if with_perms:
            entity.held_codenames = row[len(names)]
            remember_entity_codenames(user, entity.pk, entity.held_codenames)
        candidates.append(entity)
    for wanted in (perm, VIEW):
        for entity in candidates:
            if has_entity_perm(user, wanted, entity):
                return entity
    return None


def _entity_attnames() -> list[str]:
    return [f.attname for f in Entity._meta.concrete_fields]


def _entity_by_code(orgs: tuple[int, ...], code: str) -> QuerySet:
    return Entity.objects.filter(organisation_id__in=orgs, code=code).values_list(*_entity_attnames())


def _entity_by_code_with_perms(orgs: tuple[int, ...], code: str, user_id: int) -> QuerySet:
    perms = RawSQL(ENTITY_PERMS_ARRAY_SQL, [user_id, user_id])  # noqa: S611  # nosec B611 constant SQL
    return Entity.objects.filter(organisation_id__in=orgs, code=code).annotate(held_codenames=perms) \
        .values_list(*_entity_attnames(), "held_codenames")


def is_org_admin(user, organisation_id: int) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return Membership.objects.filter(user=user, organisation_id=organisation_id, is_active=True,
                                     is_org_admin=True).exists()
