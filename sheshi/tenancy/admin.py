"""Organisations, entities and memberships: read-only here. No service creates or changes
organisations and entities yet (they come from the demo loader, the group-pack loader and the
database); memberships change through ``membership_set``/``membership_remove`` and entity roles through
``role_grant``/``role_revoke`` (API and commands), not guardian's object-permission pages: the
application's roles may not write those tables (sheshi/tenancy/sql/0007_entry_points.sql)."""
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from sheshi.admin_writes import NoRevertHistoryMixin, ReadOnlyAdmin
from sheshi.tenancy.models import Entity, Membership, Organisation
from sheshi.tenancy.scoping import entity_ids_for, organisation_ids_for


class OrgScopedAdmin(NoRevertHistoryMixin, SimpleHistoryAdmin):
    """Admin pages list only the caller's organisations (the same helper the API uses); history is
    readable, never reverted (sheshi/admin_writes.py)."""

    organisation_field = "organisation_id"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.filter(**{f"{self.organisation_field}__in": organisation_ids_for(request.user)})


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin, OrgScopedAdmin):
    organisation_field = "id"
    list_display = ["code", "name", "group_currency", "fiscal_year_start_month", "poster_not_preparer",
                    "reversal_needs_approval"]
    search_fields = ["code", "name"]


@admin.register(Entity)
class EntityAdmin(ReadOnlyAdmin, OrgScopedAdmin):
    list_display = ["code", "name", "organisation", "functional_currency", "country", "is_active"]
    list_filter = ["organisation", "functional_currency", "is_active"]
    search_fields = ["code", "name"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.filter(id__in=entity_ids_for(request.user))


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin, OrgScopedAdmin):
    list_display = ["user", "organisation", "is_org_admin", "is_active"]
    list_filter = ["organisation", "is_org_admin", "is_active"]
    autocomplete_fields = ["user"]
