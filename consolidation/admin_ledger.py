"""The group's consolidation ledger in the admin: who may see and adjust it (role grants, through
``consolidation_ledger_role_grant``) and a manual consolidation adjustment (a draft entry of the
ledger, through ``consolidation_adjustment_prepare``; it is then submitted, approved and posted
like any journal entry). Two pages of a group, reached from its change page; each write is one
service call, and a refusal (no right, an unbalanced entry, a locked period) is an error on the
form with what was typed kept, never a 500."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from consolidation.models import ConsolidationGroup
from consolidation.services.ledger_access import (
    LEDGER_ROLES,
    consolidation_adjustment_prepare,
    consolidation_ledger_role_grant,
)
from ledger.models import Account
from periods.models import Period
from sheshi.access.roles import Role
from sheshi.admin_writes import refusal_messages
from sheshi.errors import SheshiError

TEMPLATE = "admin/consolidation/consolidationgroup/ledger_form.html"
LINES = 6  # adjustment lines offered on the form; blank ones are ignored


class LedgerGrantForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.none())
    role = forms.ChoiceField(choices=[(r.value, r.value) for r in Role if r in LEDGER_ROLES])

    def __init__(self, *args, group: ConsolidationGroup, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = get_user_model().objects.filter(
            memberships__organisation_id=group.organisation_id, memberships__is_active=True
        ).distinct().order_by("username")


class AdjustmentForm(forms.Form):
    period = forms.ModelChoiceField(queryset=Period.objects.none())
    description = forms.CharField(max_length=200)

    def __init__(self, *args, group: ConsolidationGroup, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = Period.objects.filter(organisation_id=group.organisation_id).order_by(
            "start_date")


class AdjustmentLineForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.none(), required=False)
    debit = forms.DecimalField(max_digits=20, decimal_places=2, min_value=0, required=False)
    credit = forms.DecimalField(max_digits=20, decimal_places=2, min_value=0, required=False)

    def clean(self):
        data = super().clean()
        debit, credit = data.get("debit"), data.get("credit")
        if data.get("account") is None and (debit or credit):
            self.add_error("account", "An amount needs an account.")
        if debit and credit:
            self.add_error("credit", "A line is a debit or a credit, not both.")
        if data.get("account") is not None and not (debit or credit):
            self.add_error("debit", "The line needs an amount.")
        return data


AdjustmentLines = forms.formset_factory(AdjustmentLineForm, extra=LINES, max_num=50)


def _group(model_admin, request, pk) -> ConsolidationGroup:
    if not model_admin.has_view_permission(request):
        raise DjangoPermissionDenied
    group = model_admin.get_queryset(request).select_related("organisation", "elimination_entity").filter(
        pk=pk).first()
    if group is None:
        raise Http404("No such consolidation group.")
    return group


def _render(model_admin, request, group, title: str, **context):
    return TemplateResponse(request, TEMPLATE, {
        **model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "group": group,
        "title": title, "ledger": group.elimination_entity, **context})


def _back(group) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("admin:consolidation_consolidationgroup_change", args=[group.pk]))


def ledger_grant_view(model_admin, request, pk):
    """Grant a role on the group's consolidation ledger; role_grant checks (organisation admin) and audits."""
    group = _group(model_admin, request, pk)
    form = LedgerGrantForm(request.POST or None, group=group)
    if request.method == "POST" and form.is_valid():
        user, role = form.cleaned_data["user"], Role(form.cleaned_data["role"])
        try:
            consolidation_ledger_role_grant(actor=request.user, group=group, user=user, role=role)
        except (SheshiError, DatabaseError) as exc:
            for field, message in refusal_messages(exc):
                form.add_error(field if field in form.fields else None, message)
        else:
            model_admin.message_user(request, f"{user.get_username()} is {role.value} on {group.code}'s "
                                              "consolidation ledger.", messages.SUCCESS)
            return _back(group)
    return _render(model_admin, request, group, f"Grant a role on {group.code}'s consolidation ledger", form=form)


def adjustment_view(model_admin, request, pk):
    """Prepare a manual consolidation adjustment: a draft entry of the ledger (four eyes post it)."""
    group = _group(model_admin, request, pk)
    form = AdjustmentForm(request.POST or None, group=group)
    lines = AdjustmentLines(request.POST or None, prefix="lines")
    accounts = Account.objects.filter(organisation_id=group.organisation_id, kind="posting").order_by("code")
    for line_form in lines.forms:
        line_form.fields["account"].queryset = accounts
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        entered = [(d["account"], (d.get("debit") or 0) - (d.get("credit") or 0))
                   for d in lines.cleaned_data if d.get("account") is not None]
        if not entered:
            form.add_error(None, "Enter the adjustment's lines.")
        else:
            try:
                with transaction.atomic():
                    entry = consolidation_adjustment_prepare(
                        actor=request.user, group=group, period=form.cleaned_data["period"], lines=entered,
                        description=form.cleaned_data["description"])
            except (SheshiError, DatabaseError) as exc:
                for _field, message in refusal_messages(exc):
                    form.add_error(None, message)
            else:
                url = reverse("admin:ledger_journalentry_change", args=[entry.pk])
                model_admin.message_user(request, format_html(
                    'Draft adjustment <a href="{}">JE{}</a> saved in {}: submit it for approval there.', url,
                    entry.pk, entry.entity.code), messages.SUCCESS)
                return HttpResponseRedirect(url)
    return _render(model_admin, request, group, f"Manual consolidation adjustment of {group.code}", form=form,
                   lines=lines)
