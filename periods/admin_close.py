"""The close workspace in the admin (issue #16): the close dashboard (entities × periods with
what is left to do, soft-close and lock from the cell), a close task's page (status, sign-off,
comments) and a reconciliation's page (statement balance, reconciling items, evidence, prepare,
review). Pages read input and call one service each; a refusal is a sentence on the page."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import DatabaseError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from ledger.admin_journal import human_message
from ledger.models import Account, AccountKind
from ledger.selectors.books import OPEN_ENTRY_STATUSES
from periods.models import EntityPeriod, FiscalYear, PeriodState
from periods.selectors.close import blocker_sentence, reconciliation_list, soft_close_warnings, unexplained_difference
from periods.selectors.dashboard import close_dashboard_get
from periods.services import checklist, reconciliation
from periods.services.transitions import entity_period_lock, entity_period_soft_close
from sheshi.access.roles import CLOSE, VIEW
from sheshi.errors import SheshiError
from sheshi.money import AMOUNT_DIGITS, AMOUNT_PLACES
from sheshi.tenancy.scoping import entity_ids_for, organisations_for

LISTED = ("tasks", "reconciliations", "entries")  # field errors that name what is still open


def refusal(exc: Exception) -> str:
    """The service's sentence, and each listed item as its own sentence (which tasks, which entries)."""
    text = human_message(exc)
    items = [e.message for e in getattr(exc, "errors", []) if e.field in LISTED and e.message not in text]
    return " ".join([text, *items]) if items else text


def _changelist(model: str, **params) -> str:
    return f"{reverse(f'admin:periods_{model}_changelist')}?{urlencode(params)}"


# ---- the dashboard -------------------------------------------------------------------------------

def dashboard_links(cell) -> dict[str, str]:
    ep = cell.entity_period
    return {
        "unposted": f"{reverse('admin:ledger_journalentry_changelist')}?" + urlencode({
            "entity__id__exact": ep.entity_id, "period__id__exact": ep.period_id,
            "status__in": ",".join(OPEN_ENTRY_STATUSES)}),
        "tasks": _changelist("checklisttask", entity_period__id__exact=ep.pk, progress="unfinished"),
        "reconciliations": _changelist("accountreconciliation", entity_period__id__exact=ep.pk,
                                       attention="yes"),
        "ic": f"{reverse('admin:consolidation_consolidationrun_changelist')}?"
              + urlencode({"period__id__exact": ep.period_id, "status__exact": "succeeded"}),
    }


def _dashboard_move(request) -> str | None:
    """Soft-close or lock one cell. Returns the query string to come back to."""
    ep_id, to = request.POST.get("entity_period", ""), request.POST.get("to", "")
    ep = EntityPeriod.objects.select_related("entity", "period").filter(
        pk=int(ep_id) if ep_id.isdigit() else 0, entity_id__in=entity_ids_for(request.user, VIEW)).first()
    if ep is None or to not in (PeriodState.SOFT_CLOSED, PeriodState.LOCKED):
        messages.error(request, "Choose a period you may see, and soft-close or lock.")
        return None
    label = f"{ep.entity.code} {ep.period.code}"
    reason = request.POST.get("reason", "").strip()
    try:
        if to == PeriodState.SOFT_CLOSED:
            force = request.POST.get("force") == "yes"
            entity_period_soft_close(actor=request.user, entity_period_id=ep.pk, reason=reason, force=force)
            messages.success(request, f"{label} is soft-closed.")
        else:
            entity_period_lock(actor=request.user, entity_period_id=ep.pk, reason=reason,
                               override_reason=request.POST.get("override_reason", "").strip())
            messages.success(request, f"{label} is locked.")
    except (SheshiError, DatabaseError) as exc:
        code = getattr(exc, "code", "")
        if code in ("soft_close_unconfirmed", "reason_required"):
            found = soft_close_warnings(entity_period_id=ep.pk)
            messages.warning(request, f"{label} still has {len(found)} unposted or open item(s): "
                             + " ".join(blocker_sentence(w) for w in found)
                             + " To soft-close anyway, tick “despite open items” and give a reason (it is recorded).")
            return urlencode({"confirm": ep.pk})
        messages.error(request, f"{label} was not {'soft-closed' if to == PeriodState.SOFT_CLOSED else 'locked'}: "
                       + refusal(exc))
    return None


def dashboard_view(modeladmin, request):
    if request.method == "POST":
        back = _dashboard_move(request)
        query = "&".join(q for q in [request.GET.urlencode(), back or ""] if q)
        return HttpResponseRedirect(reverse("admin:periods_close_dashboard") + (f"?{query}" if query else ""))
    orgs = list(organisations_for(request.user))
    org = next((o for o in orgs if str(o.pk) == request.GET.get("organisation")), orgs[0] if orgs else None)
    years = list(FiscalYear.objects.filter(organisation=org).order_by("start_date")) if org else []
    fy = next((y for y in years if str(y.pk) == request.GET.get("fiscal_year")), None)
    if fy is None and years:
        open_years = set(EntityPeriod.objects.filter(organisation=org, state=PeriodState.OPEN)
                         .values_list("period__fiscal_year_id", flat=True))
        fy = next((y for y in years if y.pk in open_years), years[-1])
    board = close_dashboard_get(user=request.user, organisation=org, fiscal_year=fy)
    confirm = request.GET.get("confirm", "")
    rows = [{"row": row, "cells": [None if c is None else {"cell": c, "links": dashboard_links(c),
                                                           "confirm": str(c.entity_period.pk) == confirm}
                                   for c in row.cells]} for row in board.rows]
    context = {**modeladmin.admin_site.each_context(request), "title": "Close dashboard", "board": board,
               "rows": rows, "organisations": orgs, "fiscal_years": years, "opts": modeladmin.model._meta,
               "query": request.GET.urlencode()}
    return TemplateResponse(request, "admin/periods/close_dashboard.html", context)


# ---- a close task's page -------------------------------------------------------------------------

class CommentForm(forms.Form):
    body = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 3, "cols": 70}))


def task_view(modeladmin, request, task):
    """Show a task; POST ``op`` = start, done, reopen, sign_off or comment."""
    form = CommentForm()
    if request.method == "POST":
        op = request.POST.get("op", "")
        try:
            if op in ("start", "done", "reopen"):
                status = {"start": "in_progress", "done": "done", "reopen": "open"}[op]
                checklist.checklist_task_set_status(actor=request.user, task_id=task.pk, status=status)
                messages.success(request, f"Task “{task.title}” is {status.replace('_', ' ')}.")
            elif op == "sign_off":
                checklist.checklist_task_sign_off(actor=request.user, task_id=task.pk)
                messages.success(request, f"Task “{task.title}” is signed off.")
            elif op == "comment":
                form = CommentForm(request.POST)
                if not form.is_valid():
                    raise _Invalid
                checklist.checklist_task_comment_add(actor=request.user, task_id=task.pk,
                                                     body=form.cleaned_data["body"])
                messages.success(request, "Comment added.")
            return HttpResponseRedirect(request.path)
        except _Invalid:
            pass
        except (SheshiError, DatabaseError) as exc:
            messages.error(request, f"Task “{task.title}” was not changed: {refusal(exc)}")
            return HttpResponseRedirect(request.path)
    task.refresh_from_db()
    context = {**modeladmin.admin_site.each_context(request), "title": f"Close task: {task.title}", "task": task,
               "comments": task.comments.select_related("author"), "form": form, "opts": modeladmin.model._meta,
               "original": task, "has_view_permission": True}
    return TemplateResponse(request, "admin/periods/checklisttask/task.html", context)


class _Invalid(Exception):
    pass


# ---- a reconciliation's page ---------------------------------------------------------------------

class MoneyField(forms.DecimalField):
    """A balance as typed or pasted: "1,250.00" and "1 250.00" read as 1250.00."""

    def __init__(self, **kw):
        super().__init__(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kw)

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace(",", "").replace(" ", "").replace("\u00a0", "")
        return super().to_python(value)


class PrepareForm(forms.Form):
    statement_balance = MoneyField(label="Statement / sub-ledger balance")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))


class ItemForm(forms.Form):
    description = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"size": 50}))
    amount = MoneyField(help_text="the part of GL − statement it explains (positive: the GL is higher)")


class EvidenceForm(forms.Form):
    file = forms.FileField(label="Document")


def reconciliation_view(modeladmin, request, rec):
    """Show a reconciliation; POST ``op`` = item, evidence, prepare or review."""
    forms_ = {"prepare": PrepareForm(initial={"statement_balance": rec.statement_balance, "note": rec.note}),
              "item": ItemForm(), "evidence": EvidenceForm()}
    if request.method == "POST":
        op = request.POST.get("op", "")
        where = f"Reconciliation of {rec.account.code}"
        try:
            if op == "prepare":
                form = forms_["prepare"] = PrepareForm(request.POST)
                if not form.is_valid():
                    raise _Invalid
                reconciliation.reconciliation_prepare(
                    actor=request.user, entity_period_id=rec.entity_period_id, account_id=rec.account_id,
                    statement_balance=form.cleaned_data["statement_balance"], note=form.cleaned_data["note"])
                messages.success(request, f"{where} is prepared.")
            elif op == "item":
                form = forms_["item"] = ItemForm(request.POST)
                if not form.is_valid():
                    raise _Invalid
                reconciliation.reconciliation_item_add(actor=request.user, reconciliation_id=rec.pk,
                                                       **form.cleaned_data)
                messages.success(request, "Reconciling item added.")
            elif op == "evidence":
                form = forms_["evidence"] = EvidenceForm(request.POST, request.FILES)
                if not form.is_valid():
                    raise _Invalid
                ev = reconciliation.reconciliation_evidence_attach(actor=request.user, reconciliation_id=rec.pk,
                                                                   upload=form.cleaned_data["file"])
                messages.success(request, f"{ev.file_name} attached (SHA-256 {ev.sha256[:12]}…).")
            elif op == "review":
                reconciliation.reconciliation_review(actor=request.user, reconciliation_id=rec.pk)
                messages.success(request, f"{where} is reviewed.")
            return HttpResponseRedirect(request.path)
        except _Invalid:
            pass
        except (SheshiError, DatabaseError) as exc:
            messages.error(request, f"{where} was not changed: {refusal(exc)}")
            return HttpResponseRedirect(request.path)
    rec = reconciliation_list(type(rec).objects.filter(pk=rec.pk)).select_related(
        "account", "entity_period__entity", "entity_period__period", "prepared_by", "reviewed_by").get()
    left = unexplained_difference(gl_balance=rec.current_closing_balance, statement_balance=rec.statement_balance,
                                  items_total=rec.items_total)
    context = {**modeladmin.admin_site.each_context(request), "title": f"Reconciliation of {rec.account}",
               "rec": rec, "unexplained": left, "items": rec.items.select_related("created_by"),
               "evidence": rec.evidence.select_related("uploaded_by"), "forms": forms_,
               "change": None if not rec.lapsed else rec.current_closing_balance - rec.pinned_closing_balance,
               "opts": modeladmin.model._meta, "original": rec, "has_view_permission": True}
    return TemplateResponse(request, "admin/periods/accountreconciliation/reconciliation.html", context)


def evidence_download(request, rec, evidence_id: int):
    from django.core.files.storage import default_storage

    ev = rec.evidence.filter(pk=evidence_id).first()
    if ev is None:
        raise Http404
    return FileResponse(default_storage.open(ev.storage_name), as_attachment=True, filename=ev.file_name,
                        content_type=ev.content_type or "application/octet-stream")


class StartForm(forms.Form):
    entity_period = forms.ModelChoiceField(queryset=EntityPeriod.objects.none(), label="Entity and period")
    accounts = forms.CharField(help_text="posting account codes, separated by commas or spaces")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity_period"].queryset = (
            EntityPeriod.objects.filter(entity_id__in=entity_ids_for(user, CLOSE)).exclude(state=PeriodState.LOCKED)
            .select_related("entity", "period").order_by("entity__code", "period__start_date", "period__number"))
        self.fields["entity_period"].label_from_instance = lambda ep: f"{ep.entity.code} {ep.period.code}"

    def clean(self):
        data = super().clean()
        ep = data.get("entity_period")
        codes = [c for c in (data.get("accounts") or "").replace(",", " ").split() if c]
        if ep is not None and codes:
            found = dict(Account.objects.filter(organisation_id=ep.organisation_id, code__in=codes,
                                                kind=AccountKind.POSTING).values_list("code", "pk"))
            if missing := [c for c in codes if c not in found]:
                self.add_error("accounts", f"No posting account {', '.join(missing)} in this organisation.")
            data["account_ids"] = [found[c] for c in codes if c in found]
        return data


def start_view(modeladmin, request):
    form = StartForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            made = reconciliation.reconciliation_require(actor=request.user,
                                                         entity_period_id=form.cleaned_data["entity_period"].pk,
                                                         account_ids=form.cleaned_data["account_ids"])
        except (SheshiError, DatabaseError) as exc:
            messages.error(request, f"No reconciliation was started: {refusal(exc)}")
        else:
            messages.success(request, f"{len(made)} reconciliation(s) to prepare.")
            if len(made) == 1:
                return HttpResponseRedirect(reverse("admin:periods_accountreconciliation_change", args=[made[0].pk]))
            return HttpResponseRedirect(_changelist("accountreconciliation",
                                                    entity_period__id__exact=form.cleaned_data["entity_period"].pk))
    context = {**modeladmin.admin_site.each_context(request), "title": "Start reconciliations", "form": form,
               "opts": modeladmin.model._meta}
    return TemplateResponse(request, "admin/periods/accountreconciliation/start.html", context)

