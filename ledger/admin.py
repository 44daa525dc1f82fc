"""Controllers' admin: the chart, journals (read-only; workflow through actions that call the
services) and a trial-balance page with drill-down to the general ledger and exports."""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.template.response import TemplateResponse
from django.urls import path
from simple_history.admin import SimpleHistoryAdmin

from audit.services import audit_read
from ledger import reports, services
from ledger.models import Account, Balance, JournalEntry, JournalLine, LocalAccountMapping
from periods.models import Period
from sheshi.access.roles import VIEW
from sheshi.errors import SheshiError, from_db_error
from sheshi.tenancy.admin import OrgScopedAdmin
from sheshi.tenancy.scoping import entities_for, entity_ids_for


@admin.register(Account)
class AccountAdmin(OrgScopedAdmin):
    list_display = ["code", "name", "type", "kind", "parent", "role", "is_intercompany", "is_active", "organisation"]
    list_filter = ["organisation", "type", "kind", "role", "is_intercompany", "is_active"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent", "ic_pair"]


@admin.register(LocalAccountMapping)
class LocalAccountMappingAdmin(OrgScopedAdmin):
    list_display = ["entity", "local_code", "local_name", "account", "valid"]
    list_filter = ["entity"]
    search_fields = ["local_code", "local_name", "account__code"]
    raw_id_fields = ["account"]


class JournalLineInline(admin.TabularInline):
    model = JournalLine
    fields = ["line_no", "account", "currency", "amount", "rate", "functional_amount", "counterparty", "memo",
              "import_batch_id", "source_row"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


def _run(modeladmin, request, queryset, service, label):
    done = 0
    for entry in queryset:
        try:
            service(actor=request.user, entry_id=entry.pk)
            done += 1
        except SheshiError as exc:
            modeladmin.message_user(request, f"Entry {entry.pk}: {exc.detail}", messages.ERROR)
        except DatabaseError as exc:
            mapped = from_db_error(exc)
            modeladmin.message_user(request, f"Entry {entry.pk}: {mapped.detail if mapped else exc}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{label}: {done} entries.", messages.SUCCESS)


@admin.register(JournalEntry)
class JournalEntryAdmin(SimpleHistoryAdmin):
    list_display = ["id", "entity", "period", "entry_date", "description", "source", "status", "created_by",
                    "approved_by", "posted_at"]
    list_filter = ["status", "source", "entity", "period__fiscal_year"]
    search_fields = ["description", "id"]
    date_hierarchy = "entry_date"
    inlines = [JournalLineInline]
    actions = ["submit", "approve", "post", "reverse"]
    readonly_fields = [f.name for f in JournalEntry._meta.fields]
    list_select_related = ["entity", "period", "created_by", "approved_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(entity_id__in=entity_ids_for(request.user, VIEW))

    def has_add_permission(self, request):
        return False  # entries come in through the API and imports, where the services validate them

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Submit for approval")
    def submit(self, request, queryset):
        _run(self, request, queryset, services.journal_entry_submit, "Submitted")

    @admin.action(description="Approve")
    def approve(self, request, queryset):
        _run(self, request, queryset, services.journal_entry_approve, "Approved")

    @admin.action(description="Post")
    def post(self, request, queryset):
        _run(self, request, queryset, services.journal_entry_post, "Posted")

    @admin.action(description="Reverse (posts a reversal entry)")
    def reverse(self, request, queryset):
        _run(self, request, queryset, services.journal_entry_reverse, "Reversed")


@admin.register(Balance)
class BalanceAdmin(admin.ModelAdmin):
    """Read-only balances, and the trial balance report page."""

    list_display = ["entity_id", "account_id", "period_id", "currency", "amount", "functional_debit",
                    "functional_credit", "line_count"]
    list_filter = ["currency"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(entity_id__in=entity_ids_for(request.user, VIEW))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [path("trial-balance/", self.admin_site.admin_view(self.trial_balance_view),
                     name="ledger_trial_balance"), *super().get_urls()]

    def trial_balance_view(self, request):
        entities = entities_for(request.user, VIEW).select_related("organisation")
        entity = entities.filter(code=request.GET.get("entity")).first() if request.GET.get("entity") else None
        periods = Period.objects.filter(organisation_id=entity.organisation_id).select_related("fiscal_year") \
            if entity else Period.objects.none()
        period = periods.filter(code=request.GET.get("period")).first() if entity else None
        if request.GET.get("entity") and entity is None:
            raise PermissionDenied
        tb = reports.trial_balance(entity=entity, period=period) if entity and period else None
        if tb is not None:  # admin reads of financial data are logged like API reads
            audit_read(request, organisation_id=entity.organisation_id, object_type="report.trial_balance",
                       object_id=f"{entity.code}/{period.code}", action="report.read")
        context = {**self.admin_site.each_context(request), "title": "Trial balance", "entities": entities,
                   "periods": periods, "entity": entity, "period": period, "tb": tb, "opts": self.model._meta}
        return TemplateResponse(request, "admin/ledger/trial_balance.html", context)
from ledger.imports import admin as _imports_admin  # noqa: E402,F401  registers the import pages
