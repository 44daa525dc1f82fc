from rest_framework import serializers

from sheshi.access.roles import Role
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


class RoleChangeInput(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="Username of a member of the entity's organisation.")
    role = serializers.ChoiceField([(r.value, r.name) for r in Role])


class RoleChangeOutput(serializers.Serializer):
    entity = serializers.CharField()
    user = serializers.CharField()
    role = serializers.CharField()
    granted = serializers.BooleanField(help_text="true after a grant, false after a revoke.")
