"""Organisations and entities the caller belongs to; organisation admins grant and revoke roles
on an entity (sheshi.access.services.grants.role_grant / role_revoke)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from sheshi.access.services.grants import role_grant, role_revoke
from sheshi.api.conditional import ConditionalWriteMixin
from sheshi.api.viewsets import EntityScopedReadOnlyViewSet, OrgScopedReadOnlyViewSet
from sheshi.errors import FieldError, ValidationFailed
from sheshi.tenancy.api.serializers import EntityOutput, OrganisationOutput, RoleChangeInput, RoleChangeOutput
from sheshi.tenancy.models import Entity, Organisation


class OrganisationViewSet(OrgScopedReadOnlyViewSet):
    """Organisations the caller belongs to."""

    queryset = Organisation.objects.all()
    serializer_class = OrganisationOutput
    organisation_field = "id"
    filterset_fields = ["code"]


def _member(entity: Entity, username: str):
    """A member of the entity's organisation by username. Anyone else reads the same as an unknown
    name, so the answer tells nothing about users of other organisations."""
    user = get_user_model().objects.filter(username=username, memberships__organisation_id=entity.organisation_id,
                                           memberships__is_active=True).first()
    if user is None:
        raise ValidationFailed("No member of this organisation has that username.", errors=[FieldError(
            "user", "Not a member of the entity's organisation.", code="not_a_member", value=username)])
    return user


class EntityViewSet(ConditionalWriteMixin, EntityScopedReadOnlyViewSet):
    """Entities the caller holds a role on."""

    queryset = Entity.objects.select_related("organisation")
    serializer_class = EntityOutput
    entity_field = "id"
    filterset_fields = ["code", "functional_currency", "country", "is_active", "organisation"]

    def _role_change(self, request, service, granted: bool):
        entity = self.get_object()  # 404 outside the caller's view
        data = RoleChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = _member(entity, data.validated_data["user"])
        service(actor=request.user, user=user, entity=entity, role=data.validated_data["role"])
        return Response(RoleChangeOutput({"entity": entity.code, "user": user.get_username(),
                                          "role": data.validated_data["role"], "granted": granted}).data)

    @extend_schema(request=RoleChangeInput, responses=RoleChangeOutput)
    @action(detail=True, methods=["post"], url_path="grant-role")
    def grant_role(self, request, pk=None):
        """Give a member a role on this entity (organisation admins)."""
        return self._role_change(request, role_grant, True)

    @extend_schema(request=RoleChangeInput, responses=RoleChangeOutput)
    @action(detail=True, methods=["post"], url_path="revoke-role")
    def revoke_role(self, request, pk=None):
        """Take a role back (organisation admins)."""
        return self._role_change(request, role_revoke, False)
