from rest_framework import serializers

from sheshi.security.models import EntityBankDetails


class EntityBankDetailsOutput(serializers.ModelSerializer):
    """Masked: the full IBAN and tax id never leave the server through the API."""

    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    iban = serializers.CharField(source="iban_masked", read_only=True)
    tax_id = serializers.CharField(source="tax_id_masked", read_only=True)

    class Meta:
        model = EntityBankDetails
        fields = ["id", "entity", "label", "bank_name", "bic", "iban", "tax_id", "updated_at"]
