from sheshi.api.viewsets import EntityScopedReadOnlyViewSet, OrgScopedReadOnlyViewSet
from sheshi.tenancy.api.serializers import EntityOutput, OrganisationOutput
from sheshi.tenancy.models import Entity, Organisation


class OrganisationViewSet(OrgScopedReadOnlyViewSet):
    """Organisations the caller belongs to."""

    queryset = Organisation.objects.all()
    serializer_class = OrganisationOutput
    organisation_field = "id"
    filterset_fields = ["code"]


class EntityViewSet(EntityScopedReadOnlyViewSet):
    """Entities the caller holds a role on."""

    queryset = Entity.objects.select_related("organisation")
    serializer_class = EntityOutput
    entity_field = "id"
    filterset_fields = ["code", "functional_currency", "country", "is_active", "organisation"]
