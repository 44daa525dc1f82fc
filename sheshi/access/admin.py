from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from sheshi.access.models import ApiToken
from sheshi.access.services.memberships import user_groups_set
from sheshi.access.services.tokens import api_token_revoke
from sheshi.admin_writes import ReadOnlyAdmin

User = get_user_model()


class SheshiUserAdmin(UserAdmin):
    """Django's user admin; a user's groups are saved through user_groups_set (the app role may not
    write auth_user_groups: a group's entity grants reach its members)."""

    def save_related(self, request, form, formsets, change):
        groups = form.cleaned_data.pop("groups", None)
        super().save_related(request, form, formsets, change)
        if groups is not None:
            user_groups_set(actor=request.user, user=form.instance, groups=groups)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, SheshiUserAdmin)


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
