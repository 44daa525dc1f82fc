"""Recurring journal entries in the admin (issue 16): "Repeat monthly" on the journal templates'
list asks for the start (and end) period and the day, and sets the recurrence up as the user's
(journal_recurrence_create); the recurrences' list shows them with the periods they drafted or
skipped, and why."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import DatabaseError
from django.template.response import TemplateResponse

from ledger.admin_journal import human_message
from ledger.models import JournalRecurrence, JournalRecurrenceRun
from ledger.services.recurring import journal_recurrence_create
from periods.models import Period
from sheshi.access.roles import VIEW
from sheshi.admin_writes import ReadOnlyAdmin
from sheshi.errors import SheshiError
from sheshi.tenancy.scoping import entity_ids_for


class RecurrenceForm(forms.Form):
    start_period = forms.ModelChoiceField(queryset=Period.objects.none(), help_text="The first month drafted.")
    end_period = forms.ModelChoiceField(queryset=Period.objects.none(), required=False,
                                        help_text="The last month drafted; empty: no end.")
    day_of_month = forms.IntegerField(min_value=1, max_value=31, required=False,
                                      help_text="Entry date in each month; empty: the last day.")

    def __init__(self, *args, organisation_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        months = Period.objects.filter(organisation_id=organisation_id, number__lte=12).order_by("start_date")
        self.fields["start_period"].queryset = months
        self.fields["end_period"].queryset = months


@admin.action(description="Repeat monthly (asks for the periods and the day)")
def set_up_recurrence(modeladmin, request, queryset):
    """First call: a page asking for the periods and the day. Second: the recurrence, the user's."""
    templates = list(queryset.select_related("entity"))
    if len(templates) != 1:
        modeladmin.message_user(request, "Select exactly one template.", messages.WARNING)
        return None
    template = templates[0]
    form = RecurrenceForm(request.POST if "confirm_recurrence" in request.POST else None,
                          organisation_id=template.organisation_id)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            recurrence = journal_recurrence_create(
                actor=request.user, template_id=template.pk, start_period_id=data["start_period"].pk,
                end_period_id=data["end_period"].pk if data["end_period"] else None,
                day_of_month=data["day_of_month"])
        except (SheshiError, DatabaseError) as exc:
            modeladmin.message_user(request, f"The recurrence was not set up: {human_message(exc)}", messages.ERROR)
            return None
        modeladmin.message_user(request, f"“{template.name}” repeats monthly from {recurrence.start_period.code}: "
                                "its drafts are yours, for someone else to approve.", messages.SUCCESS)
        return None
    return TemplateResponse(request, "admin/ledger/journaltemplate/recurrence_confirmation.html", {
        **modeladmin.admin_site.each_context(request), "title": "Repeat monthly", "opts": modeladmin.model._meta,
        "template": template, "form": form, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME})


class RunInline(ReadOnlyAdmin, admin.TabularInline):
    """The periods drafted or skipped, and why: written only by recurring_entries_generate."""

    model = JournalRecurrenceRun
    fields = readonly_fields = ["period", "status", "entry_id", "reason", "updated_at"]
    extra = 0


@admin.register(JournalRecurrence)
class JournalRecurrenceAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: set up from a template (Repeat monthly); drafts come from the daily schedule,
    manage.py generate_recurring_entries or the API."""

    list_display = ["template", "entity", "day_of_month", "start_period", "end_period", "owner", "is_active"]
    list_filter = ["entity", "is_active"]
    list_select_related = ["template", "entity", "start_period", "end_period", "owner"]
    inlines = [RunInline]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(entity_id__in=entity_ids_for(request.user, VIEW))
