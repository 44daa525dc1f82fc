"""Controllers' admin for the close: calendars (with a "generate fiscal year" form and action),
read-only period states and evidence, checklists, and the close grid — entities × periods with
their states, where a whole selection moves at once after a confirmation page. Every move goes
through the services (periods.services.close.entity_periods_move), so permissions, reasons, the checklist
gate and all-or-nothing apply exactly as in the API and the commands."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from periods.admin_close import (
    dashboard_view,
    evidence_download,
    reconciliation_view,
    refusal,
    start_view,
    task_view,
)
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
    ReconciliationStatus,
    TaskStatus,
)
from periods.selectors.close import UNFINISHED_TASK, reconciliation_list, soft_close_warnings
from periods.services.checklist import (
    checklist_task_set_status,
    checklist_task_sign_off,
    checklist_tasks_create_from_templates,
)
from periods.services.close import entity_periods_move
from periods.services.transitions import fiscal_year_generate
from sheshi.access.roles import APPROVE, CLOSE, PREPARE, REOPEN, VIEW
from sheshi.admin_links import admin_link_register
from sheshi.admin_writes import ORG_ADMIN, ActionsForRoles
from sheshi.admin_writes import ReadOnlyAdmin as ReadOnlyMixin
from sheshi.errors import SheshiError
from sheshi.tenancy.admin import OrgScopedAdmin
from sheshi.tenancy.models import Organisation
from sheshi.tenancy.scoping import entity_ids_for, is_org_admin, organisations_for

admin_link_register(app_label="periods", name="Close dashboard", url_name="periods_close_dashboard",
                    allowed=lambda request: bool(entity_ids_for(request.user, VIEW)))


class GenerateFiscalYearForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none())
    year = forms.IntegerField(min_value=1900, max_value=2999, help_text="the calendar year the fiscal year ends in")
    adjustment_period = forms.BooleanField(required=False, initial=True, label="Adjustment period 13")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations_for(user)


@admin.register(FiscalYear)
class FiscalYearAdmin(ActionsForRoles, OrgScopedAdmin):
    list_display = ["code", "organisation", "start_date", "end_date"]
    list_filter = ["organisation"]
    actions = ["generate_next_year"]
    action_permissions = {"generate_next_year": (ORG_ADMIN,)}
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
        qs = super().get_queryset(request).filter(**{f"{self.entity_field}__in": entity_ids_for(request.user, VIEW)})
        if self.entity_field.startswith("entity_period__"):  # its name shows the entity and period codes
            qs = qs.select_related("entity_period__entity", "entity_period__period")
        return qs


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
    list_select_related = ["entity", "period", "changed_by"]
    list_filter = ["state", "period__fiscal_year", "entity"]
    search_fields = ["entity__code", "period__code"]
    change_list_template = "admin/periods/entityperiod/change_list.html"

    actions = ["create_close_tasks"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not entity_ids_for(request.user, CLOSE):
            actions.pop("create_close_tasks", None)  # shown only to those who may use it
        return actions

    @admin.action(description="Create close tasks from the checklist templates")
    def create_close_tasks(self, request, queryset):
        created, refused = 0, []
        for ep in queryset.select_related("entity", "period").order_by("entity__code", "period__start_date"):
            try:
                created += len(checklist_tasks_create_from_templates(actor=request.user, entity_period_id=ep.pk))
            except (SheshiError, DatabaseError) as exc:
                refused.append(f"{ep.entity.code} {ep.period.code}: {refusal(exc)}")
        self.message_user(request, f"{created} close task(s) created (tasks already there are kept).")
        for text in refused:
            self.message_user(request, text, messages.ERROR)

    def get_urls(self):
        return [path("dashboard/", self.admin_site.admin_view(lambda r: dashboard_view(self, r)),
                     name="periods_close_dashboard"),
                path("grid/", self.admin_site.admin_view(self.grid_view), name="periods_close_grid"),
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
                    # "ACME-DE/2026-03.tasks" → "ACME-DE 2026-03": which period, then the sentence.
                    errors = [exc.detail] + [f"{e.field.split('.')[0].replace('/', ' ')}: {e.message}"
                                             for e in exc.errors]
                else:
                    messages.success(request, f"{len(moving)} period(s) moved to {PeriodState(to).label.lower()}.")
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
    list_select_related = ["entity_period__entity", "entity_period__period", "taken_by"]


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


class TaskProgressFilter(admin.SimpleListFilter):
    title, parameter_name = "progress", "progress"

    def lookups(self, request, model_admin):
        return [("unfinished", "Not finished"), ("finished", "Finished")]

    def queryset(self, request, queryset):
        if self.value() == "unfinished":
            return queryset.filter(UNFINISHED_TASK)
        if self.value() == "finished":
            return queryset.exclude(UNFINISHED_TASK)
        return queryset


@admin.register(ChecklistTask)
class ChecklistTaskAdmin(ReadOnlyMixin, EntityScopedAdmin):
    """Tasks move through the checklist services only: the actions below and the task's page
    (periods/admin_close.py: status, sign-off, comments)."""

    entity_field = "entity_period__entity_id"
    list_display = ["title", "entity_period", "required", "owner", "due_date", "status", "completed_by",
                    "signed_off_by"]
    list_filter = [TaskProgressFilter, "status", "required", "requires_review"]
    list_select_related = ["entity_period__entity", "entity_period__period", "owner", "completed_by",
                           "signed_off_by"]
    actions = ["mark_in_progress", "mark_done", "sign_off"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not entity_ids_for(request.user, PREPARE):
            actions.pop("mark_in_progress", None)
            actions.pop("mark_done", None)
        if not entity_ids_for(request.user, APPROVE):
            actions.pop("sign_off", None)
        return actions

    def _each(self, request, queryset, verb: str, call) -> None:
        done = 0
        for task in queryset.order_by("pk"):
            try:
                call(task)
                done += 1
            except (SheshiError, DatabaseError) as exc:
                self.message_user(request, f"Task “{task.title}” was not {verb}: {refusal(exc)}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} task(s) {verb}.")

    @admin.action(description="Mark as in progress")
    def mark_in_progress(self, request, queryset):
        self._each(request, queryset, "moved to in progress", lambda t: checklist_task_set_status(
            actor=request.user, task_id=t.pk, status=TaskStatus.IN_PROGRESS))

    @admin.action(description="Mark as done (your sign-off as preparer)")
    def mark_done(self, request, queryset):
        self._each(request, queryset, "marked done", lambda t: checklist_task_set_status(
            actor=request.user, task_id=t.pk, status=TaskStatus.DONE))

    @admin.action(description="Sign off as reviewer")
    def sign_off(self, request, queryset):
        self._each(request, queryset, "signed off", lambda t: checklist_task_sign_off(actor=request.user,
                                                                                       task_id=t.pk))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        task = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if task is None:
            return super().change_view(request, object_id, form_url, extra_context)  # Django's "not found"
        return task_view(self, request, task)


class ReconciliationAttentionFilter(admin.SimpleListFilter):
    title, parameter_name = "needs attention", "attention"

    def lookups(self, request, model_admin):
        return [("yes", "Not signed off, or lapsed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(~Q(status=ReconciliationStatus.REVIEWED) | Q(lapsed=True))
        return queryset


@admin.register(AccountReconciliation)
class AccountReconciliationAdmin(ReadOnlyMixin, EntityScopedAdmin):
    """Prepared and reviewed on the reconciliation's page (periods/admin_close.py) through the
    reconciliation services; started from "Start reconciliations"."""

    entity_field = "entity_period__entity_id"
    list_display = ["account", "entity_period", "status", "statement_balance", "pinned_closing_balance",
                    "current_closing", "lapsed", "prepared_by", "reviewed_by"]
    list_filter = [ReconciliationAttentionFilter, "status"]
    list_select_related = ["account", "entity_period__entity", "entity_period__period", "prepared_by",
                           "reviewed_by"]
    change_list_template = "admin/periods/accountreconciliation/change_list.html"

    def get_queryset(self, request):
        return reconciliation_list(super().get_queryset(request))

    @admin.display(boolean=True)
    def lapsed(self, obj):
        return obj.lapsed

    @admin.display(description="GL closing balance now")
    def current_closing(self, obj):
        return obj.current_closing_balance

    def get_urls(self):
        return [path("start/", self.admin_site.admin_view(lambda r: start_view(self, r)),
                     name="periods_accountreconciliation_start"),
                path("<int:rec_id>/evidence/<int:evidence_id>/", self.admin_site.admin_view(self.evidence_view),
                     name="periods_accountreconciliation_evidence"),
                *super().get_urls()]

    def evidence_view(self, request, rec_id: int, evidence_id: int):
        rec = self.get_queryset(request).filter(pk=rec_id).first()
        if rec is None:
            raise Http404
        return evidence_download(request, rec, evidence_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        rec = self.get_queryset(request).filter(pk=object_id).select_related("account").first() \
            if str(object_id).isdigit() else None
        if rec is None:
            return super().change_view(request, object_id, form_url, extra_context)
        return reconciliation_view(self, request, rec)
