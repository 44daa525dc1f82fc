"""The caller's own API tokens: list, issue (the secret is shown once), revoke.

Tokens belong to a user, not to an organisation: each caller sees and revokes only their own
(another user's token is 404). Issuing needs a signed-in session: a token cannot mint tokens, so
a leaked one cannot outlive its own expiry."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from sheshi.access.api.serializers import ApiTokenIssuedOutput, ApiTokenIssueInput, ApiTokenOutput
from sheshi.access.models import ApiToken
from sheshi.access.services.tokens import api_token_issue, api_token_revoke
from sheshi.errors import PermissionDenied


class ApiTokenViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = ApiToken.objects.all()
    serializer_class = ApiTokenOutput

    def get_queryset(self):
        return super().get_queryset().filter(user=self.request.user).order_by("-created_at", "-id")

    @extend_schema(request=ApiTokenIssueInput, responses={201: ApiTokenIssuedOutput})
    def create(self, request):
        if isinstance(request.auth, ApiToken):
            raise PermissionDenied("Issue API tokens from a signed-in session, not with another token.",
                                   code="session_required")
        data = ApiTokenIssueInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = api_token_issue(user=request.user, **data.validated_data)
        token.token = secret
        return Response(ApiTokenIssuedOutput(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiTokenOutput)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = self.get_object()  # the caller's own tokens only: another user's is 404
        return Response(ApiTokenOutput(api_token_revoke(token_id=token.pk, user=request.user)).data)
