"""Controllers' admin: the chart, journals (a form for drafts, read-only otherwise; workflow through
actions that call the services) and a trial-balance page with drill-down to the general ledger and
exports."""
from __future__ import annotations

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Concat
from django.template.response import TemplateResponse
from django.urls import path
from django.urls import reverse as url_for
from django.utils.formats import date_format
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from ledger import admin_reports
from ledger.admin_documents import (
    attachment_add_view,
    attachment_download_view,
    comment_add_view,
    documents_context,
)
from ledger.admin_inbox import INBOX_URL_NAME, inbox_view, may_use_inbox
from ledger.admin_journal import entry_form_view, form_editable, human_message
from ledger.admin_templates import save_as_template
from ledger.models import Account, Balance, EntryStatus, JournalEntry, JournalLine, LocalAccountMapping
from ledger.services import entries as services
from ledger.services.chart import account_create, account_move
from periods.models import Period
from sheshi.access.checks import has_entity_perm
from sheshi.access.roles import APPROVE, PREPARE, VIEW
from sheshi.admin_links import admin_link_register
from sheshi.admin_writes import ActionsForRoles, NoRevertHistoryMixin, ReadOnlyAdmin, ServiceAdmin
from sheshi.errors import SheshiError, ValidationFailed
from sheshi.tenancy.admin import OrgScopedAdmin
from sheshi.tenancy.models import Entity
from sheshi.tenancy.scoping import entity_ids_for

admin_link_register(app_label="ledger", name="Awaiting my approval", url_name=INBOX_URL_NAME, allowed=may_use_inbox)

ACCOUNT_ADD_FIELDS = ["organisation", "code", "name", "type", "kind", "parent", "is_intercompany", "role", "ic_pair"]


@admin.register(Account)
class AccountAdmin(ServiceAdmin, OrgScopedAdmin):
    """New accounts through account_create, a move in the tree through account_move (organisation
    admins only, as in the API). Nothing else of a saved account changes here: no service does it."""

    writes_through = ("ledger.services.chart.account_create", "ledger.services.chart.account_move")
    list_display = ["code", "name", "type", "kind", "parent", "role", "is_intercompany", "is_active", "organisation"]
    list_filter = ["organisation", "type", "kind", "role", "is_intercompany", "is_active"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent", "ic_pair"]

    def get_fields(self, request, obj=None):
        return ACCOUNT_ADD_FIELDS if obj is None else [*ACCOUNT_ADD_FIELDS, "normal_balance", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [f for f in self.get_fields(request, obj) if f != "parent"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        if change:
            if "parent" in form.changed_data:
                self.call_service(account_move, actor=request.user, account_id=obj.pk,
                                  parent_code=d["parent"].code if d.get("parent") else None)
            return
        account = self.call_service(
            account_create, actor=request.user, organisation_id=d["organisation"].pk, code=d["code"], name=d["name"],
            type=d["type"], kind=d["kind"], parent=d["parent"].code if d.get("parent") else None,
            is_intercompany=d["is_intercompany"], role=d.get("role") or "",
            ic_pair=d["ic_pair"].code if d.get("ic_pair") else None)
        obj.pk, obj.normal_balance, obj.created_at, obj.updated_at = (
            account.pk, account.normal_balance, account.created_at, account.updated_at)
        obj._state.adding = False


@admin.register(LocalAccountMapping)
class LocalAccountMappingAdmin(ReadOnlyAdmin, OrgScopedAdmin):
    """Read-only: no service writes mappings yet (they come with the entity's data load)."""

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

    def has_change_permission(self, request, obj=None):
        return False  # lines change with their entry, in the journal form

    def has_delete_permission(self, request, obj=None):
        return False


def _run(modeladmin, request, queryset, service, verb: str) -> None:
    """Apply one service to each selected entry; each refusal becomes a sentence on the page."""
    done = 0
    for entry in queryset:
        try:
            service(actor=request.user, entry_id=entry.pk)
            done += 1
        except (SheshiError, DatabaseError) as exc:
            modeladmin.message_user(request, f"Entry {entry.pk} was not {verb}: {human_message(exc, verb)}",
                                    messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} {'entry' if done == 1 else 'entries'} {verb}.", messages.SUCCESS)


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Kept with the entry and in its history.")


class ReverseForm(forms.Form):
    entry_date = forms.DateField(required=False, help_text="Leave empty for the first day of the entity's next open "
                                                           "period after the original's.")
    period = forms.CharField(max_length=16, required=False,
                             help_text="Period code, e.g. 2026-04; empty: the regular period containing the date.")


@admin.register(JournalEntry)
class JournalEntryAdmin(ActionsForRoles, NoRevertHistoryMixin, SimpleHistoryAdmin):
    """Entries are entered and edited in the journal form (ledger/admin_journal.py) while they are
    drafts; every other status is read-only here and moves only through the actions below."""

    writes_through = ("ledger.services.entries.journal_entry_create", "ledger.services.entries.journal_entry_update")

    list_display = ["id", "entity", "period", "entry_date", "description", "reference", "source", "status",
                    "created_by", "approved_by", "posted_at"]
    list_filter = ["status", "source", "entity", "period__fiscal_year"]
    search_fields = ["description", "reference", "id"]
    date_hierarchy = "entry_date"
    inlines = [JournalLineInline]
    actions = ["submit", "approve", "reject", "post", "reverse", "void_entries", save_as_template]
    # As the services check them: posting needs approval rights, or preparing rights for sources
    # that need no approval; voiding either.
    action_permissions = {"submit": (PREPARE,), "approve": (APPROVE,), "reject": (APPROVE,),
                          "post": (APPROVE, PREPARE), "reverse": (PREPARE,), "void_entries": (PREPARE, APPROVE),
                          "save_as_template": (PREPARE,)}
    # "reversal": the entry reversing this one (an accrual's drafted reversal), named on its page;
    # the reversal's own page names the original through "reverses".
    readonly_fields = [*(f.name for f in JournalEntry._meta.fields), "reversal"]
    list_select_related = ["entity", "period", "created_by", "approved_by"]

    @admin.display(description="reversal")
    def reversal(self, obj):
        found = JournalEntry.objects.filter(reverses_id=obj.pk).only("pk", "status", "entry_date").first()
        if found is None:
            return self.get_empty_value_display()
        return format_html('<a href="{}" id="je-reversal">Entry {} ({}, {})</a>',
                           url_for("admin:ledger_journalentry_change", args=[found.pk]), found.pk,
                           found.get_status_display(), date_format(found.entry_date))

    def get_queryset(self, request):
        return super().get_queryset(request).filter(entity_id__in=entity_ids_for(request.user, VIEW))

    def has_add_permission(self, request):
        return bool(entity_ids_for(request.user, PREPARE))  # the entity roles decide, as in the API

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return self.has_view_permission(request)
        return form_editable(obj) and has_entity_perm(request.user, PREPARE, obj.entity)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        def view(fn):
            return self.admin_site.admin_view(partial(fn, self))

        return [path("awaiting-approval/", view(inbox_view), name=INBOX_URL_NAME),
                path("<int:entry_id>/attach/", view(attachment_add_view), name="ledger_journalentry_attach"),
                path("<int:entry_id>/comment/", view(comment_add_view), name="ledger_journalentry_comment"),
                path("<int:entry_id>/attachments/<int:attachment_id>/", view(attachment_download_view),
                     name="ledger_journalentry_attachment"),
                *super().get_urls()]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return entry_form_view(self, request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        entry = self.get_object(request, object_id)
        documents = documents_context(request, entry) if entry is not None else {}
        if entry is not None and self.has_change_permission(request, entry):
            return entry_form_view(self, request, entry, extra_context=documents)
        if entry is not None and request.method == "POST":
            raise PermissionDenied  # a read-only entry: nothing to save
        if entry is not None and entry.status == EntryStatus.DRAFT and not form_editable(entry):
            self.message_user(request, "This draft has dimensions whose names or values hold “;” or “=”, which "
                              "the form cannot show: change it through the API, or void it and enter it again.",
                              messages.INFO)
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **documents})

    # History: readable, never "Revert" (NoRevertHistoryMixin). A revert would write the header
    # straight to the table, around the services and without the lines; on a posted entry the
    # database refuses it (500).

    @admin.action(description="Submit for approval")
    def submit(self, request, queryset):
        _run(self, request, queryset, services.journal_entry_submit, "submitted")

    @admin.action(description="Approve")
    def approve(self, request, queryset):
        _run(self, request, queryset, services.journal_entry_approve, "approved")

    @admin.action(description="Send back to draft (for correction)")
    def reject(self, request, queryset):
        _run(self, request, queryset, services.journal_entry_reject, "sent back to draft")

    @admin.action(description="Post")
    def post(self, request, queryset):
        _run(self, request, queryset, services.journal_entry_post, "posted")

    @admin.action(description="Reverse (asks for the reversal's date)")
    def reverse(self, request, queryset):
        """First call: a page asking for the reversal's date or period (both optional). Second:
        reverse each entry; under the organisation's policy the reversal awaits approval."""
        entries = list(queryset.select_related("entity", "period", "organisation").order_by("pk"))
        form = ReverseForm(request.POST if "confirm_reverse" in request.POST else None)
        if form.is_bound and form.is_valid():
            entry_date, code = form.cleaned_data["entry_date"], form.cleaned_data["period"].strip()
            period_ids = dict(Period.objects.filter(code=code).values_list("organisation_id", "pk")) if code else {}

            def reverse_one(actor, entry_id):
                org_id = next(e.organisation_id for e in entries if e.pk == entry_id)
                if code and org_id not in period_ids:
                    raise ValidationFailed(f"Period {code} does not exist.")
                return services.journal_entry_reverse(actor=actor, entry_id=entry_id, entry_date=entry_date,
                                                      period_id=period_ids.get(org_id))

            _run(self, request, queryset.order_by("pk"), reverse_one, "reversed")
            return None
        context = {**self.admin_site.each_context(request), "title": "Reverse journal entries",
                   "opts": self.model._meta, "entries": entries, "form": form,
                   "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                   "needs_approval": any(e.organisation.reversal_needs_approval for e in entries),
                   "not_reversible": [e for e in entries if e.status != EntryStatus.POSTED]}
        return TemplateResponse(request, "admin/ledger/journalentry/reverse_confirmation.html", context)

    @admin.action(description="Void (drafts and submitted entries; asks for a reason)")
    def void_entries(self, request, queryset):
        """First call: a confirmation page asking for the reason. Second: void each entry."""
        entries = list(queryset.select_related("entity", "period").order_by("pk"))
        form = VoidForm(request.POST if "confirm_void" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            _run(self, request, queryset.order_by("pk"),
                 lambda actor, entry_id: services.journal_entry_void(actor=actor, entry_id=entry_id, reason=reason),
                 "voided")
            return None
        context = {**self.admin_site.each_context(request), "title": "Void journal entries", "opts": self.model._meta,
                   "entries": entries, "form": form, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                   "not_voidable": [e for e in entries if e.status not in (EntryStatus.DRAFT, EntryStatus.SUBMITTED)]}
        return TemplateResponse(request, "admin/ledger/journalentry/void_confirmation.html", context)


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only balances (names, not ids), and the report pages (ledger/admin_reports.py)."""

    list_display = ["entity_name", "account_name", "period_name", "currency", "amount", "functional_debit",
                    "functional_credit", "line_count"]
    list_filter = ["currency"]

    def get_queryset(self, request):
        # Balance holds bare ids (the table is the database's, without foreign keys): the names
        # come from correlated subqueries, in the list's one query.
        def name_of(queryset, key):
            return Subquery(queryset.filter(pk=OuterRef(key)).values("label")[:1])

        return super().get_queryset(request).filter(entity_id__in=entity_ids_for(request.user, VIEW)).annotate(
            entity_code=name_of(Entity.objects.annotate(label=F("code")), "entity_id"),
            period_code=name_of(Period.objects.annotate(label=F("code")), "period_id"),
            account_label=name_of(Account.objects.annotate(label=Concat("code", Value(" "), "name")), "account_id"))

    @admin.display(description="entity", ordering="entity_code")
    def entity_name(self, obj):
        return obj.entity_code

    @admin.display(description="account", ordering="account_label")
    def account_name(self, obj):
        return obj.account_label

    @admin.display(description="period", ordering="period_code")
    def period_name(self, obj):
        return obj.period_code

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("trial-balance/", view(partial(admin_reports.trial_balance_view, self)), name="ledger_trial_balance"),
            path("general-ledger/", view(partial(admin_reports.general_ledger_view, self)),
                 name="ledger_general_ledger"),
            path("income-statement/", view(partial(admin_reports.statement_view, self, which="income_statement")),
                 name="ledger_income_statement"),
            path("balance-sheet/", view(partial(admin_reports.statement_view, self, which="balance_sheet")),
                 name="ledger_balance_sheet"),
            *super().get_urls()]


from ledger.imports import admin as _imports_admin  # noqa: E402,F401  registers the import pages
