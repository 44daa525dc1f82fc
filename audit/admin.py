"""Read-only audit log in the admin, scoped to the caller's organisations. Nothing can be added,
changed or deleted here (the database refuses it anyway: the app role may only read)."""
from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.models import ORG_PLATFORM, AuditEvent
from sheshi.tenancy.models import Organisation
from sheshi.tenancy.scoping import organisation_ids_for


def _visible_org_ids(request) -> list[int]:
    ids = organisation_ids_for(request.user)
    return [*ids, ORG_PLATFORM] if request.user.is_superuser else ids


class OrganisationFilter(admin.SimpleListFilter):
    title = _("organisation")
    parameter_name = "organisation"

    def lookups(self, request, model_admin):
        orgs = Organisation.objects.filter(id__in=organisation_ids_for(request.user)).values_list("id", "code")
        extra = [(str(ORG_PLATFORM), "platform")] if request.user.is_superuser else []
        return [(str(pk), code) for pk, code in orgs] + extra

    def queryset(self, request, queryset):
        return queryset.filter(organisation_id=int(self.value())) if self.value() else queryset


class ActorFilter(admin.SimpleListFilter):
    title = _("actor")
    parameter_name = "actor"
    max_choices = 100

    def lookups(self, request, model_admin):
        labels = (model_admin.get_queryset(request).exclude(actor_label=None).order_by("actor_label")
                  .values_list("actor_label", flat=True).distinct()[: self.max_choices])
        return [(label, label) for label in labels]

    def queryset(self, request, queryset):
        return queryset.filter(actor_label=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["id", "occurred_at", "organisation_id", "actor_label", "action", "object_type", "object_id",
                    "request_id"]
    list_filter = [OrganisationFilter, ActorFilter, "action", "object_type", ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["object_id", "actor_label", "request_id", "=txid"]
    date_hierarchy = "occurred_at"
    ordering = ["-id"]
    list_per_page = 100
    show_full_result_count = False  # count(*) over a large log on every page is needlessly slow
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(organisation_id__in=_visible_org_ids(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
