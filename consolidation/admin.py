"""Admin: groups with their holdings, rates, adjustments, and runs with progress and a
drill-down of every consolidated account to its components.

Every write goes through consolidation/services/runs.py (sheshi/admin_writes.py): a new group through
``consolidation_group_create``, a new holding through ``group_member_add``, a rate through
``fx_rate_create``, an adjustment with its lines through ``adjustment_record``; a refusal (a
permission, a frozen rate or holding, an overlap) is shown on the form. No service changes or
removes these rows yet, so saved groups, holdings, rates and adjustments are read-only here. Runs
(consolidation/admin_runs.py) and the intercompany worklist (consolidation/admin_ic.py) have pages
of their own."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from consolidation.admin_ic import IcDifferenceAdmin
from consolidation.admin_ledger import adjustment_view, ledger_grant_view
from consolidation.admin_runs import ConsolidationRunAdmin
from consolidation.models import (
    AcquisitionAdjustment,
    AdjustmentKind,
    AdjustmentLine,
    ConsolidationGroup,
    ConsolidationRun,
    FxRate,
    GroupMember,
    IcDifference,
)
from consolidation.services.rates_import import fx_rates_import
from consolidation.services.runs import (
    adjustment_record,
    consolidation_group_create,
    fx_rate_create,
    group_member_add,
)
from sheshi.admin_writes import OrgScopedChoices, ReadOnlyAdmin, ServiceAdmin, refusal_messages
from sheshi.errors import SheshiError
from sheshi.tenancy.admin import OrgScopedAdmin
from sheshi.tenancy.models import Organisation
from sheshi.tenancy.scoping import organisation_ids_for


def _added_rows(formsets, model) -> list[tuple]:
    """(formset, cleaned_data) of the filled-in new rows of the inline formsets for ``model``."""
    return [(fs, f.cleaned_data) for fs in formsets if fs.model is model for f in fs.extra_forms
            if f.has_changed() and not f.cleaned_data.get("DELETE")]


class GroupMemberInline(ReadOnlyAdmin, admin.TabularInline):
    """The group's holdings as they are (changing one needs a service that does not exist yet)."""

    model = GroupMember
    fk_name = "group"
    extra = 0
    fields = ["entity", "parent", "ownership_pct", "acquired_on", "method", "valid"]
    verbose_name_plural = "holdings"


class HoldingAddForm(forms.ModelForm):
    valid_from = forms.DateField(required=False, help_text="Default: the acquisition date.")

    class Meta:
        model = GroupMember
        fields = ["entity", "parent", "ownership_pct", "acquired_on", "method"]


class GroupMemberAddInline(OrgScopedChoices, admin.TabularInline):
    """New holdings only: saved through group_member_add by ConsolidationGroupAdmin.save_related."""

    model = GroupMember
    form = HoldingAddForm
    fk_name = "group"
    extra = 1
    fields = ["entity", "parent", "ownership_pct", "acquired_on", "method", "valid_from"]
    verbose_name, verbose_name_plural = "new holding", "add holdings"

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsolidationGroup)
class ConsolidationGroupAdmin(ServiceAdmin, OrgScopedAdmin):
    writes_through = ("consolidation.services.runs.consolidation_group_create",
                      "consolidation.services.runs.group_member_add",
                      # the group's consolidation-ledger pages (consolidation/admin_ledger.py)
                      "consolidation.services.ledger_access.consolidation_ledger_role_grant",
                      "consolidation.services.ledger_access.consolidation_adjustment_prepare")
    list_display = ["code", "name", "organisation", "top_entity", "elimination_entity", "consolidate"]
    inlines = [GroupMemberInline, GroupMemberAddInline]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("<int:pk>/ledger/grant/", view(lambda request, pk: ledger_grant_view(self, request, pk)),
                     name="consolidation_group_ledger_grant"),
                path("<int:pk>/ledger/adjustment/", view(lambda request, pk: adjustment_view(self, request, pk)),
                     name="consolidation_group_adjustment"),
                *super().get_urls()]

    @admin.display(description="consolidation ledger")
    def ledger_pages(self, group):
        grant = reverse("admin:consolidation_group_ledger_grant", args=[group.pk])
        adjust = reverse("admin:consolidation_group_adjustment", args=[group.pk])
        return format_html('<a href="{}" id="ledger-grant">grant a role on it</a> · '
                           '<a href="{}" id="ledger-adjustment">prepare a manual adjustment</a>', grant, adjust)

    @admin.display(description="runs")
    def consolidate(self, group):
        runs = reverse("admin:consolidation_consolidationrun_changelist") + f"?group__id__exact={group.pk}"
        new = reverse("admin:consolidation_run_consolidate") + f"?group={group.pk}"
        return format_html('<a href="{}">runs</a> · <a href="{}">consolidate</a>', runs, new)

    def get_fields(self, request, obj=None):
        if obj is None:  # the organisation is the top entity's
            return ["code", "name", "top_entity"]
        return ["organisation", "code", "name", "top_entity", "elimination_entity", "ledger_pages"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing of the group itself changes here; new holdings are saved in save_related
        d = form.cleaned_data
        group = self.call_service(consolidation_group_create, actor=request.user,
                                  organisation=d["top_entity"].organisation, code=d["code"], name=d["name"],
                                  top_entity=d["top_entity"])
        obj.pk, obj.organisation_id, obj.created_at, obj.updated_at = (
            group.pk, group.organisation_id, group.created_at, group.updated_at)
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        created: dict = {}
        for i, (fs, row) in enumerate(_added_rows(formsets, GroupMember), start=1):
            created.setdefault(fs, []).append(self.call_service(
                group_member_add, where=f"New holding {i} ({row['entity'].code})", actor=request.user,
                group=form.instance, entity=row["entity"], parent=row["parent"], ownership_pct=row["ownership_pct"],
                acquired_on=row["acquired_on"], valid_from=row.get("valid_from"), method=row["method"]))
        self.formsets_written(formsets, created)


class RatesUploadForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none())
    file = forms.FileField(help_text="CSV (UTF-8) or XLSX with the columns from, to, type, rate, date "
                                     "(rate = units of 'to' per one 'from'; type closing, average or historical).")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(id__in=organisation_ids_for(user))


@admin.register(FxRate)
class FxRateAdmin(ServiceAdmin, OrgScopedAdmin):
    writes_through = ("consolidation.services.runs.fx_rate_create",
                      "consolidation.services.rates_import.fx_rates_import")
    list_display = ["rate_date", "from_currency", "to_currency", "rate_type", "rate", "source"]
    list_filter = ["organisation", "rate_type", "from_currency"]
    date_hierarchy = "rate_date"
    fields = ["organisation", "from_currency", "to_currency", "rate_type", "rate_date", "rate", "source"]

    def has_change_permission(self, request, obj=None):
        return False  # no service changes a rate: a wrong one is corrected by a new dated rate

    def get_urls(self):
        return [path("upload/", self.admin_site.admin_view(self.upload_view), name="consolidation_fxrate_upload"),
                *super().get_urls()]

    def upload_view(self, request):
        """A whole rate set from a file: every row checked first, every problem listed (row,
        column, value, why) and nothing written on any; the service checks the permission."""
        if not self.has_view_permission(request):
            raise DjangoPermissionDenied
        form = RatesUploadForm(request.POST or None, request.FILES or None, user=request.user)
        problems = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = fx_rates_import(actor=request.user, organisation=form.cleaned_data["organisation"],
                                         stream=upload, filename=upload.name, source=f"upload:{upload.name}"[:64])
            except (SheshiError, DatabaseError) as exc:
                problems = getattr(exc, "errors", [])
                for message in [exc.detail] if problems else [m for _, m in refusal_messages(exc)]:
                    form.add_error(None, message)
            else:
                self.message_user(request, f"{result.created} rates loaded from {upload.name}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:consolidation_fxrate_changelist"))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Upload FX rates",
                   "form": form, "problems": problems}
        return TemplateResponse(request, "admin/consolidation/fxrate/upload.html", context)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        rate = self.call_service(fx_rate_create, actor=request.user, organisation=d["organisation"],
                                 from_currency=d["from_currency"], to_currency=d["to_currency"],
                                 rate_type=d["rate_type"], rate_date=d["rate_date"], rate=d["rate"],
                                 source=d.get("source") or "")
        obj.pk, obj.created_at, obj.updated_at = rate.pk, rate.created_at, rate.updated_at
        obj._state.adding = False


class AdjustmentLineInline(OrgScopedChoices, admin.TabularInline):
    """Lines of a new adjustment (saved with it by adjustment_record); read-only afterwards."""

    model = AdjustmentLine
    extra = 2
    fields = ["account", "amount"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AcquisitionAdjustment)
class AcquisitionAdjustmentAdmin(ServiceAdmin, OrgScopedAdmin):
    writes_through = "consolidation.services.runs.adjustment_record"
    list_display = ["group", "kind", "entity", "buyer", "period", "amount"]
    list_filter = ["kind"]
    fields = ["group", "kind", "entity", "period", "buyer", "amount", "inventory_account", "cogs_account"]
    inlines = [AdjustmentLineInline]

    def has_change_permission(self, request, obj=None):
        return False  # no service changes an adjustment yet

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Nothing yet: the adjustment and its lines are one service call, in save_related."""

    def save_related(self, request, form, formsets, change):
        d = form.cleaned_data
        lines = [(row["account"], row["amount"]) for _, row in _added_rows(formsets, AdjustmentLine)]
        adj = self.call_service(
            adjustment_record, actor=request.user, group=d["group"], kind=d["kind"], entity=d["entity"],
            lines=lines if d["kind"] != AdjustmentKind.UNREALISED_PROFIT else [], period=d.get("period"),
            buyer=d.get("buyer"), amount=d.get("amount"), inventory_account=d.get("inventory_account"),
            cogs_account=d.get("cogs_account"))
        form.instance.pk, form.instance.organisation_id, form.instance.created_at = (
            adj.pk, adj.organisation_id, adj.created_at)
        form.instance._state.adding = False
        self.formsets_written(formsets)


admin.site.register(ConsolidationRun, ConsolidationRunAdmin)
admin.site.register(IcDifference, IcDifferenceAdmin)
