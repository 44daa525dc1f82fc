"""Controllers' admin for the close: calendars (with a "generate fiscal year" form and action),
read-only period states and evidence, checklists, and the close grid — entities × periods with
their states, where a whole selection moves at once after a confirmation page. Every move goes
through the services (periods.close.entity_periods_move), so permissions, reasons, the checklist
gate and all-or-nothing apply exactly as in the API and the commands."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from periods.close import entity_periods_move
from periods.models import (
    AccountReconciliation,
    ChecklistTask,
    ChecklistTemplate,
    ChecklistTemplateItem,
    EntityPeriod,
    FiscalYear,
    GroupPeriodLock,
    LockOverride,
    Period,
    PeriodLockSnapshot,
    PeriodState,
)
from periods.selectors import reconciliation_list, soft_close_warnings
from periods.services import fiscal_year_generate
from sheshi.access.roles import CLOSE, REOPEN, VIEW
from sheshi.admin_writes import ReadOnlyAdmin as ReadOnlyMixin
from sheshi.errors import SheshiError
from sheshi.tenancy.admin import OrgScopedAdmin
from sheshi.tenancy.models import Organisation
from sheshi.tenancy.scoping import entity_ids_for, is_org_admin, organisations_for


class GenerateFiscalYearForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none())
    year = forms.IntegerField(min_value=1900, max_value=2999, help_text="the calendar year the fiscal year ends in")
    adjustment_period = forms.BooleanField(required=False, initial=True, label="Adjustment period 13")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations_for(user)


@admin.register(FiscalYear)
class FiscalYearAdmin(OrgScopedAdmin):
    list_display = ["code", "organisation", "start_date", "end_date"]
    list_filter = ["organisation"]
    actions = ["generate_next_year"]
    change_list_template = "admin/periods/fiscalyear/change_list.html"

    def has_add_permission(self, request):
        return False  # a fiscal year is generated with its periods (the "Generate" page), never typed in

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _check_org_admin(self, request, organisation_id: int) -> None:
        if not is_org_admin(request.user, organisation_id):
            raise PermissionDenied

    @admin.action(description="Generate the following fiscal year")
    def generate_next_year(self, request, queryset):
        for fy in queryset.select_related("organisation"):
            self._check_org_admin(request, fy.organisation_id)
            new = fiscal_year_generate(organisation=fy.organisation, year=fy.end_date.year + 1)
            self.message_user(request, f"{fy.organisation.code}: {new.code} generated ({new.periods.count()} periods).")

    def get_urls(self):
        return [path("generate/", self.admin_site.admin_view(self.generate_view), name="periods_fiscalyear_generate"),
                *super().get_urls()]

    def generate_view(self, request):
        form = GenerateFiscalYearForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            org = form.cleaned_data["organisation"]
            self._check_org_admin(request, org.pk)
            fy = fiscal_year_generate(organisation=org, year=form.cleaned_data["year"],
                                      adjustment_period=form.cleaned_data["adjustment_period"])
            self.message_user(request, f"{org.code}: {fy.code} generated ({fy.periods.count()} periods).")
            return HttpResponseRedirect(reverse("admin:periods_fiscalyear_changelist"))
        context = {**self.admin_site.each_context(request), "title": "Generate a fiscal year", "form": form,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/periods/generate_fiscal_year.html", context)


@admin.register(Period)
class PeriodAdmin(ReadOnlyMixin, OrgScopedAdmin):
    list_display = ["code", "number", "fiscal_year", "start_date", "end_date", "organisation"]
    list_filter = ["organisation", "fiscal_year"]


class EntityScopedAdmin(OrgScopedAdmin):
    entity_field = "entity_id"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(**{f"{self.entity_field}__in": entity_ids_for(request.user, VIEW)})


def _selected_cells(request, visible):
    """The entity-periods a grid form selected: single cells, whole rows (an entity across the
    shown year) and whole columns (a period across the shown entities), within ``visible``."""
    cells = {int(v) for v in request.POST.getlist("cell") if v.isdigit()}
    rows = {int(v) for v in request.POST.getlist("row") if v.isdigit()}
    cols = {int(v) for v in request.POST.getlist("col") if v.isdigit()}
    fy = request.POST.get("fiscal_year")
    qs = visible.filter(pk__in=cells)
    if fy and fy.isdigit():
        in_year = visible.filter(period__fiscal_year_id=int(fy))
        qs = qs | in_year.filter(entity_id__in=rows) | in_year.filter(period_id__in=cols)
    return qs.select_related("entity", "period").order_by("entity__code", "period__start_date", "period__number")


def _is_reopen(state: str, to: str) -> bool:
    return to == PeriodState.OPEN or (to == PeriodState.SOFT_CLOSED and state == PeriodState.LOCKED)


@admin.register(EntityPeriod)
class EntityPeriodAdmin(ReadOnlyMixin, EntityScopedAdmin):
    list_display = ["entity", "period", "state", "changed_by", "changed_at", "reason"]
    list_filter = ["state", "period__fiscal_year", "entity"]
    search_fields = ["entity__code", "period__code"]
    change_list_template = "admin/periods/entityperiod/change_list.html"

    def get_urls(self):
        return [path("grid/", self.admin_site.admin_view(self.grid_view), name="periods_close_grid"),
                path("grid/confirm/", self.admin_site.admin_view(self.confirm_view), name="periods_close_confirm"),
                *super().get_urls()]

    def grid_view(self, request):
        orgs = list(organisations_for(request.user))
        org = next((o for o in orgs if str(o.pk) == request.GET.get("organisation")), orgs[0] if orgs else None)
        years = list(FiscalYear.objects.filter(organisation=org)) if org else []
        fy = next((y for y in years if str(y.pk) == request.GET.get("fiscal_year")), years[-1] if years else None)
        visible = entity_ids_for(request.user, VIEW)
        may_close, may_reopen = set(entity_ids_for(request.user, CLOSE)), set(entity_ids_for(request.user, REOPEN))
        periods = list(fy.periods.order_by("number")) if fy else []
        eps = {(ep.entity_id, ep.period_id): ep for ep in EntityPeriod.objects.filter(
            period__in=periods, entity_id__in=visible).select_related("entity")}
        entities = sorted({ep.entity for ep in eps.values()}, key=lambda e: e.code)
        rows = [{"entity": e, "may_close": e.pk in may_close, "may_reopen": e.pk in may_reopen,
                 "cells": [eps.get((e.pk, p.pk)) for p in periods]} for e in entities]
        context = {**self.admin_site.each_context(request), "title": "Close grid", "organisations": orgs,
                   "organisation": org, "fiscal_years": years, "fiscal_year": fy, "periods": periods, "rows": rows,
                   "states": PeriodState.choices, "opts": self.model._meta}
        return TemplateResponse(request, "admin/periods/close_grid.html", context)

    def confirm_view(self, request):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:periods_close_grid"))
        to = request.POST.get("to", "")
        if to not in PeriodState.values:
            messages.error(request, "Choose the state to move the selection to.")
            return HttpResponseRedirect(reverse("admin:periods_close_grid"))
        visible = EntityPeriod.objects.filter(entity_id__in=entity_ids_for(request.user, VIEW))
        selected = list(_selected_cells(request, visible))
        moving = [ep for ep in selected if ep.state != to]
        unchanged = [ep for ep in selected if ep.state == to]
        needs_reason = any(_is_reopen(ep.state, to) for ep in moving)
        reason = request.POST.get("reason", "").strip()
        override_reason = request.POST.get("override_reason", "").strip()
        # Soft-closing shows what is still unposted or open in each period and needs a tick and a reason.
        warnings = [(ep, soft_close_warnings(entity_period_id=ep.pk)) for ep in moving
                    if to == PeriodState.SOFT_CLOSED and ep.state == PeriodState.OPEN]
        warnings = [(ep, found) for ep, found in warnings if found]
        force = request.POST.get("force") == "yes"
        errors: list[str] = []
        if request.POST.get("confirmed") == "yes" and moving:
            if needs_reason and not reason:
                errors.append("Reopening needs a written reason.")
            elif warnings and not (force and reason):
                errors.append("Tick the box to soft-close despite the unposted entries and open close items, and "
                              "give a reason (it is recorded).")
            else:
                try:
                    entity_periods_move(actor=request.user, entity_period_ids=[ep.pk for ep in moving], to=to,
                                        reason=reason, override_reason=override_reason, force=force)
                except SheshiError as exc:
                    errors = [exc.detail] + [f"{e.field}: {e.message}" for e in exc.errors]
                else:
                    messages.success(request, f"{len(moving)} period(s) moved to {to}.")
                    return HttpResponseRedirect(reverse("admin:periods_close_grid"))
        context = {**self.admin_site.each_context(request), "title": "Confirm the close move", "to": to,
                   "moving": moving, "unchanged": unchanged, "needs_reason": needs_reason,
                   "asks_override": to == PeriodState.LOCKED, "reason": reason, "override_reason": override_reason,
                   "warnings": warnings, "force": force,
                   "errors": errors, "opts": self.model._meta}
        return TemplateResponse(request, "admin/periods/close_confirm.html", context)


@admin.register(PeriodLockSnapshot)
class PeriodLockSnapshotAdmin(ReadOnlyMixin, EntityScopedAdmin):
    entity_field = "entity_period__entity_id"
    list_display = ["entity_period", "taken_at", "taken_by", "line_count", "sha256"]


@admin.register(LockOverride)
class LockOverrideAdmin(ReadOnlyMixin, EntityScopedAdmin):
    entity_field = "entity_period__entity_id"
    list_display = ["entity_period", "overridden_by", "overridden_at", "reason"]


@admin.register(GroupPeriodLock)
class GroupPeriodLockAdmin(ReadOnlyMixin, OrgScopedAdmin):
    list_display = ["group_key", "period", "entity_ids", "locked_by", "locked_at"]


class ChecklistTemplateItemInline(ReadOnlyMixin, admin.TabularInline):
    model = ChecklistTemplateItem
    fields = ["position", "title", "required", "default_owner_role", "due_offset_days"]
    extra = 1


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(ReadOnlyMixin, OrgScopedAdmin):
    """Read-only for now: the admin has no form for checklist_template_create yet, and no service
    changes or removes a template."""

    list_display = ["name", "organisation", "is_active"]
    inlines = [ChecklistTemplateItemInline]


@admin.register(ChecklistTask)
class ChecklistTaskAdmin(ReadOnlyMixin, EntityScopedAdmin):
    entity_field = "entity_period__entity_id"
    list_display = ["title", "entity_period", "required", "owner", "due_date", "status", "completed_by", "evidence"]
    list_filter = ["status", "required"]


@admin.register(AccountReconciliation)
class AccountReconciliationAdmin(ReadOnlyMixin, EntityScopedAdmin):
    entity_field = "entity_period__entity_id"
    list_display = ["entity_period", "account", "status", "pinned_closing_balance", "current_net", "lapsed",
                    "prepared_by", "reviewed_by"]
    list_filter = ["status"]

    def get_queryset(self, request):
        return reconciliation_list(super().get_queryset(request))

    @admin.display(boolean=True)
    def lapsed(self, obj):
        return obj.lapsed

    @admin.display(description="current net")
    def current_net(self, obj):
        return obj.current_functional_net
