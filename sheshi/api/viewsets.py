"""Base classes for tenant-scoped API views.

Subclasses declare how a row reaches its organisation/entity; the base scopes the queryset
through sheshi.tenancy.scoping, so a view cannot forget it. Objects outside the caller's scope
are simply not in the queryset, so they are 404, never 403.
"""
from __future__ import annotations

from rest_framework import viewsets

from sheshi.access.roles import VIEW
from sheshi.tenancy.scoping import entity_ids_for, organisation_ids_for


class OrgScopedMixin:
    """Rows visible when their organisation is one of the caller's."""

    organisation_field = "organisation_id"

    def scope_queryset(self, qs):
        return qs.filter(**{f"{self.organisation_field}__in": organisation_ids_for(self.request.user)})

    def get_queryset(self):
        return self.scope_queryset(super().get_queryset())


class EntityScopedMixin:
    """Rows visible when the caller holds ``view_permission`` on their entity."""

    entity_field = "entity_id"
    view_permission = VIEW

    def scope_queryset(self, qs):
        return qs.filter(**{f"{self.entity_field}__in": entity_ids_for(self.request.user, self.view_permission)})

    def get_queryset(self):
        return self.scope_queryset(super().get_queryset())


class OrgScopedReadOnlyViewSet(OrgScopedMixin, viewsets.ReadOnlyModelViewSet):
    pass


class EntityScopedReadOnlyViewSet(EntityScopedMixin, viewsets.ReadOnlyModelViewSet):
    pass
