"""Runs in the admin: "Consolidate" (a group and one or many periods, queued through
consolidation_run_request), the run page (progress while it runs; then the consolidated TB,
balance sheet and income statement split owners/NCI, the members worksheet, CTA and NCI schedules,
with account names and links), the drill-down from a figure to its components, to a member's
local and translated balance, to its ledger lines and their import file rows, the comparison of
two runs, and the group's period lock (refused while an intercompany difference is open).

Runs are read-only records; every write here is a service call and a refusal is a message on the
page. A run is visible to whoever may view the group's top entity (as in the API); a member's
ledger lines need the view permission on that member."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import DatabaseError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from audit.services.events import audit_read
from consolidation.models import ConsolidationGroup, ConsolidationRun, IcDifference, RunStatus
from consolidation.selectors import run_reports
from consolidation.services.runs import (
    consolidation_group_period_lock,
    consolidation_run_request,
    consolidation_runs_request,
)
from ledger.models import Account
from periods.models import Period
from sheshi.access.checks import has_entity_perm
from sheshi.access.roles import CLOSE, VIEW
from sheshi.admin_writes import ActionsForRoles, ReadOnlyAdmin, refusal_messages
from sheshi.errors import SheshiError
from sheshi.tenancy.admin import OrgScopedAdmin
from sheshi.tenancy.models import Entity
from sheshi.tenancy.scoping import entity_ids_for, organisation_ids_for

T = "admin/consolidation/run/"


class ConsolidateForm(forms.Form):
    group = forms.ModelChoiceField(queryset=ConsolidationGroup.objects.none())
    periods = forms.ModelMultipleChoiceField(queryset=Period.objects.none(), help_text="One or many months.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = ConsolidationGroup.objects.filter(
            organisation_id__in=organisation_ids_for(user), top_entity_id__in=entity_ids_for(user, VIEW))
        self.fields["periods"].queryset = Period.objects.filter(
            organisation_id__in=organisation_ids_for(user)).order_by("organisation_id", "start_date")

    def clean(self):
        data = super().clean()
        group, periods = data.get("group"), data.get("periods") or []
        other = [p.code for p in periods if group is not None and p.organisation_id != group.organisation_id]
        if other:
            self.add_error("periods", f"Not periods of {group.code}'s organisation: {', '.join(other)}.")
        return data


class ConsolidationRunAdmin(ActionsForRoles, ReadOnlyAdmin, OrgScopedAdmin):
    writes_through = ("consolidation.services.runs.consolidation_run_request",
                      "consolidation.services.runs.consolidation_runs_request",
                      "consolidation.services.runs.consolidation_group_period_lock")
    list_display = ["id", "group", "period", "status", "progress", "progress_note", "fingerprint_short",
                    "requested_label", "requested_at", "duration_ms", "posted_count"]
    list_filter = ["status", ("group", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["group", "period"]
    actions = ["run_again", "compare_two"]
    action_permissions = {"run_again": (CLOSE,)}  # consolidation_run_request's check, on the group's top entity

    def get_queryset(self, request):
        return super().get_queryset(request).filter(group__top_entity_id__in=entity_ids_for(request.user, VIEW))

    @admin.display(description="fingerprint")
    def fingerprint_short(self, run):
        return run.fingerprint[:12]

    @admin.display(description="entries posted")
    def posted_count(self, run):
        return len(run.posted_entry_ids) if not run.posting_error else run.posting_error["code"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("consolidate/", view(self.consolidate_view), name="consolidation_run_consolidate"),
            path("compare/", view(self.compare_view), name="consolidation_run_compare"),
            path("<int:pk>/lock/", view(self.lock_view), name="consolidation_run_lock"),
            path("<int:pk>/accounts/<str:code>/", view(self.figure_view), name="consolidation_run_figure"),
            path("<int:pk>/accounts/<str:code>/members/<str:entity>/", view(self.member_view),
                 name="consolidation_run_member"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {"consolidate_url": reverse("admin:consolidation_run_consolidate"), **(extra_context or {})}
        return super().changelist_view(request, extra)

    # --- helpers --------------------------------------------------------------------------
    def _run(self, request, pk) -> ConsolidationRun:
        run = self.get_queryset(request).select_related("group__top_entity", "period__fiscal_year").filter(
            pk=pk).first()
        if run is None:
            raise Http404("No such run.")
        return run

    def _render(self, request, template: str, title: str, **context):
        return TemplateResponse(request, T + template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context})

    def _refused(self, request, exc) -> None:
        for _, message in refusal_messages(exc):
            self.message_user(request, message, messages.ERROR)

    # --- consolidate ---------------------------------------------------------------------
    def consolidate_view(self, request):
        form = ConsolidateForm(request.POST or None, user=request.user, initial={"group": request.GET.get("group")})
        if request.method == "POST" and form.is_valid():
            group, periods = form.cleaned_data["group"], sorted(form.cleaned_data["periods"],
                                                                key=lambda p: p.start_date)
            try:
                # All the periods or none; the jobs start after commit.
                runs = consolidation_runs_request(actor=request.user, group=group, periods=periods)
            except (SheshiError, DatabaseError) as exc:
                for _, message in refusal_messages(exc):
                    form.add_error(None, message)
            else:
                self.message_user(request, "Queued " + ", ".join(f"run {r.pk} ({r.period.code})" for r in runs) + ".")
                if len(runs) == 1:
                    return HttpResponseRedirect(reverse("admin:consolidation_consolidationrun_change",
                                                        args=[runs[0].pk]))
                return HttpResponseRedirect(reverse("admin:consolidation_consolidationrun_changelist")
                                            + f"?group__id__exact={group.pk}")
        return self._render(request, "consolidate.html", "Consolidate", form=form)

    @admin.action(description="Run again (queues a new run)")
    def run_again(self, request, queryset):
        for run in queryset.select_related("group__top_entity", "period"):
            try:
                new = consolidation_run_request(actor=request.user, group=run.group, period=run.period)
            except SheshiError as exc:
                self.message_user(request, f"Run {run.pk}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"Queued run {new.pk} for {run.group} {run.period}.")

    @admin.action(description="Compare the two selected runs")
    def compare_two(self, request, queryset):
        ids = sorted(queryset.values_list("pk", flat=True))
        if len(ids) != 2:
            self.message_user(request, "Select exactly two runs of the same group and period to compare.",
                              messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:consolidation_run_compare") + f"?before={ids[0]}&after={ids[1]}")

    # --- the run page ----------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self._run(request, object_id)
        context = {"run": run, "live": run.status in (RunStatus.QUEUED, RunStatus.RUNNING),
                   "ic_rows": IcDifference.objects.filter(group_id=run.group_id, period_id=run.period_id)
                   .select_related("entity", "account", "counterparty", "counterparty_account", "assignee")}
        if run.results:
            accounts = run_reports.accounts_by_code(run)
            columns, sheet = run_reports.worksheet(run, accounts)
            nci_keys, nci_rows = run_reports.nci_schedule(run)
            context.update(tb=run_reports.consolidated_tb(run, accounts),
                           st=run_reports.statements(run, accounts), columns=columns, sheet=sheet,
                           cta_rows=run_reports.cta_schedule(run), nci_keys=nci_keys, nci_rows=nci_rows)
            audit_read(request, organisation_id=run.organisation_id, object_type="consolidation.consolidationrun",
                       object_id=run.pk, action="report.read")
        return self._render(request, "run.html", f"Run {run.pk}: {run.group.code} {run.period.code}", **context)

    def figure_view(self, request, pk, code):
        run = self._run(request, pk)
        if not run.results:
            raise Http404("The run has no results.")
        try:
            components = run_reports.figure_components(run, code)
        except SheshiError as exc:
            raise Http404(exc.detail) from exc
        account = Account.objects.filter(organisation_id=run.organisation_id, code=code).first()
        return self._render(request, "figure.html", f"Run {run.pk}: account {code}", run=run, code=code,
                            account=account, components=components,
                            amount=run.results["consolidated_tb"].get(code, "0.00"))

    def member_view(self, request, pk, code, entity):
        run = self._run(request, pk)
        if not run.results:
            raise Http404("The run has no results.")
        try:
            figure = run_reports.member_figure(run, code, entity)
        except SheshiError as exc:
            raise Http404(exc.detail) from exc
        member = Entity.objects.filter(organisation_id=run.organisation_id, code=entity).first()
        account = Account.objects.filter(organisation_id=run.organisation_id, code=code).first()
        may_view = member is not None and has_entity_perm(request.user, VIEW, member)
        gl = run_reports.member_ledger_lines(run, member, account) if may_view and account else None
        if gl is not None:
            audit_read(request, organisation_id=run.organisation_id, object_type="report.general_ledger",
                       object_id=f"{entity}/{code}/{run.period.code}", action="report.read")
        return self._render(request, "member.html", f"Run {run.pk}: {entity} on {code}", run=run, code=code,
                            account=account, member=member, figure=figure, gl=gl, may_view=may_view)

    def compare_view(self, request):
        runs = self.get_queryset(request).select_related("group", "period")
        try:
            before = runs.filter(pk=int(request.GET.get("before", ""))).first()
            after = runs.filter(pk=int(request.GET.get("after", ""))).first()
        except ValueError:
            before = after = None
        if before is None or after is None:
            self.message_user(request, "Choose two runs you can see (before and after) to compare.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:consolidation_consolidationrun_changelist"))
        try:
            comparison = run_reports.run_compare(before, after)
        except SheshiError as exc:
            self._refused(request, exc)
            return HttpResponseRedirect(reverse("admin:consolidation_consolidationrun_changelist"))
        return self._render(request, "compare.html", f"Run {before.pk} against run {after.pk}", before=before,
                            after=after, cmp=comparison)

    def lock_view(self, request, pk):
        run = self._run(request, pk)
        url = reverse("admin:consolidation_consolidationrun_change", args=[run.pk])
        if request.method != "POST":
            return HttpResponseRedirect(url)
        try:
            consolidation_group_period_lock(actor=request.user, group=run.group, period=run.period)
        except (SheshiError, DatabaseError) as exc:
            self._refused(request, exc)
        else:
            self.message_user(request, f"{run.group.code} locked {run.period.code}.")
        return HttpResponseRedirect(url)
