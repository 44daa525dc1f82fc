"""Recurring journal entries in the admin (issue 16): "Repeat monthly" on the journal templates'
list asks for the start (and end) period and the day, and sets the recurrence up as the user's
(journal_recurrence_create); the recurrences' list shows them with the periods they drafted or
skipped, and why. "Change day or end" (journal_recurrence_update) and "Stop" (journal_recurrence_stop,
with a reason) ask on a page of their own; months already generated keep their drafts."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import DatabaseError
from django.template.response import TemplateResponse

from ledger.admin_journal import human_message
from ledger.models import JournalRecurrence, JournalRecurrenceRun
from ledger.services.recurring import (
    ALREADY,
    GENERATED,
    journal_recurrence_create,
    journal_recurrence_stop,
    journal_recurrence_update,
    recurring_entries_generate_for_entity,
)
from periods.models import Period
from sheshi.access.roles import APPROVE, PREPARE, VIEW
from sheshi.admin_writes import ActionsForRoles, ReadOnlyAdmin
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


class RecurrenceChangeForm(forms.Form):
    day_of_month = forms.IntegerField(min_value=1, max_value=31, required=False,
                                      help_text="Entry date in each month not yet drafted; empty: the last day.")
    end_period = forms.ModelChoiceField(queryset=Period.objects.none(), required=False,
                                        help_text="The last month drafted; empty: no end. Not before a month "
                                                  "already drafted.")

    def __init__(self, *args, organisation_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["end_period"].queryset = Period.objects.filter(organisation_id=organisation_id,
                                                                   number__lte=12).order_by("start_date")


class RecurrenceStopForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Kept with the recurrence and in the audit trail.")
    after_period = forms.ModelChoiceField(queryset=Period.objects.none(), required=False,
                                          label="Last month drafted",
                                          help_text="Empty: nothing more is drafted from now on.")

    def __init__(self, *args, organisation_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["after_period"].queryset = Period.objects.filter(organisation_id=organisation_id,
                                                                     number__lte=12).order_by("start_date")


def _one(modeladmin, request, queryset) -> JournalRecurrence | None:
    chosen = list(queryset.select_related("template", "entity", "start_period", "end_period"))
    if len(chosen) != 1:
        modeladmin.message_user(request, "Select exactly one recurrence.", messages.WARNING)
        return None
    return chosen[0]


def _ask(modeladmin, request, recurrence, form, *, action: str, title: str, button: str, button_id: str,
         selected=None):
    return TemplateResponse(request, "admin/ledger/journalrecurrence/recurrence_action.html", {
        **modeladmin.admin_site.each_context(request), "title": title, "opts": modeladmin.model._meta,
        "recurrence": recurrence, "selected": selected or [recurrence], "form": form, "action": action,
        "button": button, "button_id": button_id, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME})


@admin.action(description="Change day or end (months not yet drafted)")
def change_recurrence(modeladmin, request, queryset):
    recurrence = _one(modeladmin, request, queryset)
    if recurrence is None:
        return None
    form = RecurrenceChangeForm(request.POST if "confirm" in request.POST else None,
                                organisation_id=recurrence.organisation_id,
                                initial={"day_of_month": recurrence.day_of_month, "end_period": recurrence.end_period})
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            journal_recurrence_update(actor=request.user, recurrence_id=recurrence.pk,
                                      day_of_month=data["day_of_month"],
                                      end_period_id=data["end_period"].pk if data["end_period"] else None)
        except (SheshiError, DatabaseError) as exc:
            modeladmin.message_user(request, f"The recurrence was not changed: {human_message(exc)}", messages.ERROR)
            return None
        modeladmin.message_user(request, f"“{recurrence.template.name}” changed for the months not yet drafted.",
                                messages.SUCCESS)
        return None
    return _ask(modeladmin, request, recurrence, form, action="change_recurrence", title="Change a recurrence",
                button="Change the recurrence", button_id="je-recurrence-change")


@admin.action(description="Stop (asks why)")
def stop_recurrence(modeladmin, request, queryset):
    recurrence = _one(modeladmin, request, queryset)
    if recurrence is None:
        return None
    form = RecurrenceStopForm(request.POST if "confirm" in request.POST else None,
                              organisation_id=recurrence.organisation_id)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            stopped = journal_recurrence_stop(
                actor=request.user, recurrence_id=recurrence.pk, reason=data["reason"],
                after_period_id=data["after_period"].pk if data["after_period"] else None)
        except (SheshiError, DatabaseError) as exc:
            modeladmin.message_user(request, f"The recurrence was not stopped: {human_message(exc)}", messages.ERROR)
            return None
        until = (f"after {data['after_period'].code}" if data["after_period"] else "from now on")
        modeladmin.message_user(request, f"“{recurrence.template.name}” stopped {until}"
                                f"{'' if stopped.is_active else ': no more drafts'}; drafts already made stay.",
                                messages.SUCCESS)
        return None
    return _ask(modeladmin, request, recurrence, form, action="stop_recurrence", title="Stop a recurrence",
                button="Stop the recurrence", button_id="je-recurrence-stop")


class RecurrenceDraftForm(forms.Form):
    period = forms.ModelChoiceField(queryset=Period.objects.none(), help_text="The month to draft now.")

    def __init__(self, *args, organisation_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = Period.objects.filter(
            organisation_id=organisation_id, number__lte=12).order_by("start_date")


@admin.action(description="Draft a month now (what the daily schedule would)")
def draft_month(modeladmin, request, queryset):
    """The month's due drafts of the selected recurrences' entities, as the schedule would make them
    (recurring_entries_generate_for_entity: each recurrence once, as its owner's)."""
    chosen = list(queryset.select_related("entity"))
    entities = {r.entity_id: r.entity for r in chosen}
    if len({e.organisation_id for e in entities.values()}) != 1:
        modeladmin.message_user(request, "Select recurrences of one organisation.", messages.WARNING)
        return None
    form = RecurrenceDraftForm(request.POST if "confirm" in request.POST else None,
                               organisation_id=chosen[0].organisation_id)
    if form.is_bound and form.is_valid():
        period = form.cleaned_data["period"]
        try:
            outcomes = [o for entity in entities.values() for o in recurring_entries_generate_for_entity(
                actor=request.user, entity=entity, period=period)]
        except (SheshiError, DatabaseError) as exc:
            modeladmin.message_user(request, f"Nothing was drafted: {human_message(exc)}", messages.ERROR)
            return None
        made = sum(o.status == GENERATED for o in outcomes)
        modeladmin.message_user(request, f"{period.code}: {made} draft(s) made.", messages.SUCCESS)
        for o in outcomes:
            if o.status != GENERATED:
                modeladmin.message_user(request, f"“{o.template}” ({o.entity}): "
                                        f"{'already drafted for this month' if o.status == ALREADY else o.reason}.",
                                        messages.WARNING)
        return None
    return _ask(modeladmin, request, None, form, action="draft_month", title="Draft a month now",
                button="Draft the month", button_id="je-recurrence-draft", selected=chosen)


class RunInline(ReadOnlyAdmin, admin.TabularInline):
    """The periods drafted or skipped, and why: written only by recurring_entries_generate."""

    model = JournalRecurrenceRun
    fields = readonly_fields = ["period", "status", "entry_id", "reason", "updated_at"]
    extra = 0


@admin.register(JournalRecurrence)
class JournalRecurrenceAdmin(ActionsForRoles, ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only fields: set up from a template (Repeat monthly), changed and stopped by the actions
    (through the services); drafts come from the daily schedule, manage.py generate_recurring_entries,
    the API or "Draft a month now"."""

    list_display = ["template", "entity", "day_of_month", "start_period", "end_period", "owner", "is_active",
                    "stopped"]
    list_filter = ["entity", "is_active"]
    list_select_related = ["template", "entity", "start_period", "end_period", "owner", "stopped_by"]
    readonly_fields = ["stop_reason", "stopped_by", "stopped_at"]
    inlines = [RunInline]
    actions = [draft_month, change_recurrence, stop_recurrence]
    action_permissions = {"draft_month": (PREPARE,), "change_recurrence": (PREPARE,),
                          "stop_recurrence": (PREPARE, APPROVE)}

    @admin.display(description="Stopped")
    def stopped(self, obj):
        if obj.stopped_at is None:
            return "—"
        who = obj.stopped_by.get_username() if obj.stopped_by_id else "?"
        return f"{obj.stopped_at:%Y-%m-%d} by {who}: {obj.stop_reason}"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(entity_id__in=entity_ids_for(request.user, VIEW))
