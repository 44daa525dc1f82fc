"""Journal templates in the admin (issue 16): "Save as template" on journal entries asks for a
name (journal_template_create); the templates' list offers "New entry from template", which asks
for the date and opens the new draft in the journal form (journal_entry_create_from_template)."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import DatabaseError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from ledger.admin_journal import ISO_DATE, human_message
from ledger.admin_recurring import set_up_recurrence
from ledger.models import JournalTemplate
from ledger.services.templates import journal_entry_create_from_template, journal_template_create
from sheshi.access.roles import PREPARE, VIEW
from sheshi.admin_writes import ActionsForRoles, ReadOnlyAdmin
from sheshi.errors import SheshiError
from sheshi.tenancy.scoping import entity_ids_for


class TemplateNameForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Unique within the entity, e.g. “Monthly rent accrual”.")


class TemplateUseForm(forms.Form):
    entry_date = forms.DateField(widget=forms.DateInput(format=ISO_DATE, attrs={"type": "date"}))


@admin.action(description="Save as template (asks for a name)")
def save_as_template(modeladmin, request, queryset):
    """First call: a page asking for the template's name. Second: one template from the entry."""
    entries = list(queryset.select_related("entity", "period").order_by("pk"))
    form = TemplateNameForm(request.POST if "confirm_template" in request.POST else None)
    if len(entries) != 1:
        modeladmin.message_user(request, "Select exactly one entry to save as a template.", messages.WARNING)
        return None
    if form.is_bound and form.is_valid():
        try:
            template = journal_template_create(actor=request.user, entry_id=entries[0].pk,
                                               name=form.cleaned_data["name"])
        except (SheshiError, DatabaseError) as exc:
            modeladmin.message_user(request, f"The template was not saved: {human_message(exc)}", messages.ERROR)
            return None
        modeladmin.message_user(request, f"Template “{template.name}” saved from entry {entries[0].pk}.",
                                messages.SUCCESS)
        return None
    return TemplateResponse(request, "admin/ledger/journalentry/template_confirmation.html", {
        **modeladmin.admin_site.each_context(request), "title": "Save as template", "opts": modeladmin.model._meta,
        "entries": entries, "form": form, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME})


@admin.register(JournalTemplate)
class JournalTemplateAdmin(ActionsForRoles, ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: templates are saved from an entry (Save as template) and used through the action."""

    list_display = ["name", "entity", "description", "created_by", "created_at"]
    list_filter = ["entity"]
    search_fields = ["name", "description"]
    actions = ["new_entry", set_up_recurrence]
    action_permissions = {"new_entry": (PREPARE,), "set_up_recurrence": (PREPARE,)}

    def get_queryset(self, request):
        return super().get_queryset(request).filter(entity_id__in=entity_ids_for(request.user, VIEW))

    @admin.action(description="New entry from template (asks for the date)")
    def new_entry(self, request, queryset):
        templates = list(queryset.select_related("entity"))
        if len(templates) != 1:
            self.message_user(request, "Select exactly one template.", messages.WARNING)
            return None
        form = TemplateUseForm(request.POST if "confirm_use" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                entry = journal_entry_create_from_template(actor=request.user, template_id=templates[0].pk,
                                                           entry_date=form.cleaned_data["entry_date"])
            except (SheshiError, DatabaseError) as exc:
                self.message_user(request, f"No entry was created: {human_message(exc)}", messages.ERROR)
                return None
            self.message_user(request, f"Draft entry {entry.pk} created from “{templates[0].name}”.",
                              messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:ledger_journalentry_change", args=[entry.pk]))
        return TemplateResponse(request, "admin/ledger/journaltemplate/use_confirmation.html", {
            **self.admin_site.each_context(request), "title": "New entry from template", "opts": self.model._meta,
            "template": templates[0], "form": form, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME})
