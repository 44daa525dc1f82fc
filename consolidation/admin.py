"""Admin: groups with their holdings, rates, adjustments, and runs with progress and a
drill-down of every consolidated account to its components. Runs are read-only records; the
'run again' action queues a new run through the service."""
from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from consolidation.explain import account_components
from consolidation.models import (
    AcquisitionAdjustment,
    AdjustmentLine,
    ConsolidationGroup,
    ConsolidationRun,
    FxRate,
    GroupMember,
)
from consolidation.services import consolidation_run_request
from sheshi.errors import SheshiError
from sheshi.tenancy.admin import OrgScopedAdmin


class GroupMemberInline(admin.TabularInline):
    model = GroupMember
    fk_name = "group"
    extra = 0
    fields = ["entity", "parent", "ownership_pct", "acquired_on", "method", "valid"]


@admin.register(ConsolidationGroup)
class ConsolidationGroupAdmin(OrgScopedAdmin):
    list_display = ["code", "name", "organisation", "top_entity", "elimination_entity"]
    readonly_fields = ["elimination_entity"]
    inlines = [GroupMemberInline]


@admin.register(FxRate)
class FxRateAdmin(OrgScopedAdmin):
    list_display = ["rate_date", "from_currency", "to_currency", "rate_type", "rate", "source"]
    list_filter = ["organisation", "rate_type", "from_currency"]
    date_hierarchy = "rate_date"


class AdjustmentLineInline(admin.TabularInline):
    model = AdjustmentLine
    extra = 0
    fields = ["account", "amount"]


@admin.register(AcquisitionAdjustment)
class AcquisitionAdjustmentAdmin(OrgScopedAdmin):
    list_display = ["group", "kind", "entity", "buyer", "period", "amount"]
    list_filter = ["kind"]
    inlines = [AdjustmentLineInline]


@admin.register(ConsolidationRun)
class ConsolidationRunAdmin(OrgScopedAdmin):
    list_display = ["id", "group", "period", "status", "progress", "progress_note", "fingerprint_short",
                    "requested_label", "requested_at", "duration_ms", "posted_count"]
    list_filter = ["status", "group"]
    actions = ["run_again"]
    exclude = ["results", "fingerprint_sections"]
    readonly_fields = ["group", "period", "status", "progress", "progress_note", "fingerprint", "changed_inputs",
                       "previous_run", "ic_differences", "error", "attempt", "posted_entry_ids",
                       "reversal_entry_ids", "posting_error", "requested_by", "requested_label", "started_at",
                       "finished_at", "duration_ms", "headline", "drill_down"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="fingerprint")
    def fingerprint_short(self, run):
        return run.fingerprint[:12]

    @admin.display(description="entries posted")
    def posted_count(self, run):
        return len(run.posted_entry_ids) if not run.posting_error else run.posting_error["code"]

    @admin.display(description="headline figures")
    def headline(self, run):
        if not run.results:
            return "-"
        keys = ("totals", "nci_equity", "nci_profit", "goodwill", "cta", "cta_nci", "profit_attributable_to_owners",
                "effective_interest")
        return format_html("<pre>{}</pre>", json.dumps({k: run.results[k] for k in keys}, indent=1))

    @admin.display(description="consolidated TB and its components")
    def drill_down(self, run):
        if not run.results:
            return "-"
        rows = []
        for code, amount in run.results["consolidated_tb"].items():
            parts = "; ".join(f"{c['entity']} {c['source']} {c['amount']}"
                              for c in account_components(run.results, code))
            rows.append((code, amount, parts))
        return format_html("<table><tr><th>account</th><th>amount</th><th>components</th></tr>{}</table>",
                           format_html_join("", "<tr><td>{}</td><td style='text-align:right'>{}</td><td>{}</td></tr>",
                                            rows))

    @admin.action(description="Run again (queues a new run)")
    def run_again(self, request, queryset):
        for run in queryset.select_related("group__top_entity", "period"):
            try:
                new = consolidation_run_request(actor=request.user, group=run.group, period=run.period)
            except SheshiError as exc:
                self.message_user(request, f"Run {run.pk}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"Queued run {new.pk} for {run.group} {run.period}.")

