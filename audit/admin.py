"""Read-only audit log in the admin, scoped to the caller's organisations. Nothing can be added,
changed or deleted here (the database refuses it anyway: the app role may only read)."""
from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from audit.models import ORG_PLATFORM, AuditEvent, WebhookState, WebhookSubscription
from audit.services.webhooks import webhook_retry
from sheshi.admin_writes import ORG_ADMIN, ActionsForRoles, ReadOnlyAdmin
from sheshi.tenancy.models import Organisation
from sheshi.tenancy.scoping import is_org_admin, organisation_ids_for


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


SIGN_IN_ACTIONS = ("login.succeeded", "login.failed", "logout")


class SignInEventsFilter(admin.SimpleListFilter):
    """Sign-ins and sign-outs are most of the log by count and rarely what is looked for: hidden
    until asked for."""

    title = _("sign-in events")
    parameter_name = "sign_ins"

    def lookups(self, request, model_admin):
        return [("hidden", _("Hidden")), ("shown", _("Shown")), ("only", _("Only these"))]

    def choices(self, changelist):
        current = self.value() or "hidden"
        for value, label in self.lookup_choices:
            yield {"selected": current == value, "display": label,
                   "query_string": changelist.get_query_string({self.parameter_name: value})}

    def queryset(self, request, queryset):
        if self.value() == "shown":
            return queryset
        if self.value() == "only":
            return queryset.filter(action__in=SIGN_IN_ACTIONS)
        return queryset.exclude(action__in=SIGN_IN_ACTIONS)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["id", "occurred_at", "organisation_id", "actor_label", "action", "object_type", "object_id",
                    "request_id"]
    list_filter = [SignInEventsFilter, OrganisationFilter, ActorFilter, "action", "object_type",
                   ("occurred_at", admin.DateFieldListFilter)]
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


class WebhookStateInline(ReadOnlyAdmin, admin.StackedInline):
    model = WebhookState
    can_delete = False
    readonly_fields = ["cursor_seq", "status", "attempts", "next_attempt_at", "last_error", "last_delivered_at",
                       "delivered_count"]
    exclude = ["organisation_id"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ActionsForRoles, ReadOnlyAdmin, admin.ModelAdmin):
    """Subscriptions with their delivery state; dead letters show here and are retried by action.
    Read-only: subscriptions are created by webhook_subscription_create (the secret is set once);
    no service changes or removes one yet."""

    list_display = ["name", "organisation", "url", "is_active", "state_status", "state_cursor", "state_attempts",
                    "state_last_error"]
    list_filter = ["is_active", "state__status", "organisation"]
    exclude = ["secret"]  # set through webhook_subscription_create; never shown back
    inlines = [WebhookStateInline]
    actions = ["retry_now"]
    action_permissions = {"retry_now": (ORG_ADMIN,)}

    def get_queryset(self, request):
        return (super().get_queryset(request).select_related("state", "organisation")
                .filter(organisation_id__in=organisation_ids_for(request.user)))

    @admin.display(description="status")
    def state_status(self, obj):
        return obj.state.get_status_display()

    @admin.display(description="cursor (seq)")
    def state_cursor(self, obj):
        return obj.state.cursor_seq

    @admin.display(description="attempts")
    def state_attempts(self, obj):
        return obj.state.attempts

    @admin.display(description="last error")
    def state_last_error(self, obj):
        return obj.state.last_error

    @admin.action(description="Retry delivery now (clears a dead letter)")
    def retry_now(self, request, queryset):
        for sub in queryset:
            if not is_org_admin(request.user, sub.organisation_id):  # webhook_retry checks nobody
                raise PermissionDenied
            webhook_retry(subscription_id=sub.pk)
        self.message_user(request, f"{queryset.count()} subscription(s) will be retried on the next dispatch.")
