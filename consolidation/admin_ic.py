"""The intercompany worklist in the admin: a changelist filtered by status, group, period and
assignee; each difference's page shows the pair, its amounts, explanation, resolution, comments
and history, with one form to assign, explain, resolve or comment — each a service call, a
refusal a message on the page."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from consolidation.services.runs import (
    ic_difference_assign,
    ic_difference_comment,
    ic_difference_explain,
    ic_difference_resolve,
)
from sheshi.access.roles import VIEW
from sheshi.admin_writes import ReadOnlyAdmin, refusal_messages
from sheshi.errors import SheshiError
from sheshi.tenancy.admin import OrgScopedAdmin
from sheshi.tenancy.scoping import entity_ids_for

ACTIONS = [("explain", "Explain (why it differs)"), ("resolve", "Resolve (how it was settled)"),
           ("comment", "Comment"), ("assign", "Assign")]


class IcActionForm(forms.Form):
    action = forms.ChoiceField(choices=ACTIONS)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), required=False,
                           help_text="The explanation, the resolution or the comment.")
    assignee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False,
                                      help_text="For 'Assign': leave empty to unassign.")


class IcDifferenceAdmin(ReadOnlyAdmin, OrgScopedAdmin):
    writes_through = ("consolidation.services.runs.ic_difference_assign",
                      "consolidation.services.runs.ic_difference_explain",
                      "consolidation.services.runs.ic_difference_resolve",
                      "consolidation.services.runs.ic_difference_comment")
    list_display = ["pair", "group", "period", "entity_amount", "counterparty_amount", "difference", "status",
                    "assignee", "run"]
    list_filter = ["status", ("group", admin.RelatedOnlyFieldListFilter),
                   ("period", admin.RelatedOnlyFieldListFilter), ("assignee", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["group", "period", "entity", "account", "counterparty", "counterparty_account", "assignee"]
    search_fields = ["entity__code", "counterparty__code", "account__code", "explanation", "resolution"]

    def get_queryset(self, request):
        ids = entity_ids_for(request.user, VIEW)
        return super().get_queryset(request).filter(
            Q(group__top_entity_id__in=ids) | Q(entity_id__in=ids) | Q(counterparty_id__in=ids))

    @admin.display(description="pair", ordering="entity__code")
    def pair(self, d):
        return f"{d.entity.code} {d.account.code} / {d.counterparty.code} {d.counterparty_account.code}"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        row = (self.get_queryset(request).select_related(*self.list_select_related, "group__top_entity")
               .filter(pk=object_id).first())
        if row is None:
            raise Http404("No such intercompany difference.")
        form = IcActionForm(request.POST or None)
        users = get_user_model().objects.filter(memberships__organisation_id=row.organisation_id,
                                                memberships__is_active=True).distinct().order_by("username")
        form.fields["assignee"].queryset = users
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                if d["action"] == "explain":
                    ic_difference_explain(actor=request.user, difference_id=row.pk, explanation=d["text"])
                elif d["action"] == "resolve":
                    ic_difference_resolve(actor=request.user, difference_id=row.pk, resolution=d["text"])
                elif d["action"] == "comment":
                    ic_difference_comment(actor=request.user, difference_id=row.pk, text=d["text"])
                else:
                    ic_difference_assign(actor=request.user, difference_id=row.pk, assignee=d["assignee"])
            except (SheshiError, DatabaseError) as exc:
                for field, message in refusal_messages(exc):
                    form.add_error("text" if field in ("explanation", "resolution", "text") else None, message)
            else:
                self.message_user(request, f"{dict(ACTIONS)[d['action']].split(' (')[0]}: done.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:consolidation_icdifference_change", args=[row.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "d": row, "form": form,
                   "title": f"Intercompany difference {self.pair(row)}",
                   "comments": row.comments.select_related("author"),
                   "history": row.history.select_related("history_user").order_by("-history_id")}
        return TemplateResponse(request, "admin/consolidation/icdifference/change.html", context)
