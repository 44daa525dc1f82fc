"""API token shapes: the secret appears in the create response only."""
from __future__ import annotations

from rest_framework import serializers

from sheshi.access.models import ApiToken, TokenScope
from sheshi.access.services.tokens import MAX_TOKEN_DAYS


class ApiTokenOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at"]


class ApiTokenIssuedOutput(ApiTokenOutput):
    token = serializers.CharField(help_text="The secret, shown this once: Sheshi stores only its hash.")

    class Meta(ApiTokenOutput.Meta):
        fields = [*ApiTokenOutput.Meta.fields, "token"]


class ApiTokenIssueInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(TokenScope.choices), min_length=1, max_length=2)
    days = serializers.IntegerField(min_value=1, max_value=MAX_TOKEN_DAYS, default=90)
