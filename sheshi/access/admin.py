from django.contrib import admin

from sheshi.access.models import ApiToken
from sheshi.access.services.tokens import api_token_revoke
from sheshi.admin_writes import ReadOnlyAdmin


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: tokens are issued by `manage.py api_token_issue` / the API so the secret is shown
    once, and revoked by the action below (api_token_revoke), never by editing the row."""

    list_display = ["name", "user", "prefix", "scopes", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    actions = ["revoke"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(user=request.user)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:  # the queryset is the caller's own tokens unless they are a superuser
            api_token_revoke(token_id=token.pk, user=token.user)
        self.message_user(request, f"{queryset.count()} token(s) revoked.")
