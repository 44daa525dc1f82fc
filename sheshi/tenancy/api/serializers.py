from rest_framework import serializers

from sheshi.tenancy.models import Entity, Organisation


class OrganisationOutput(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "code", "name", "group_currency", "fiscal_year_start_month", "created_at"]


class EntityOutput(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Entity
        fields = ["id", "organisation", "code", "name", "functional_currency", "country", "is_active",
                  "approval_required_sources", "created_at"]
