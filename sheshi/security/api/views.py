from sheshi.api.viewsets import EntityScopedReadOnlyViewSet
from sheshi.security.api.serializers import EntityBankDetailsOutput
from sheshi.security.models import EntityBankDetails


class EntityBankDetailsViewSet(EntityScopedReadOnlyViewSet):
    """Bank details of entities the caller may view, masked."""

    queryset = EntityBankDetails.objects.select_related("entity").order_by("entity_id", "label")
    serializer_class = EntityBankDetailsOutput
    filterset_fields = ["entity", "label"]
