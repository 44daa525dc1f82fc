"""The approver's inbox in the admin (issue 16): "Awaiting my approval".

Lists submitted and approved entries of the entities where the user may approve, except their
own (ledger/selectors/inbox.py). Selected entries are approved or posted after a confirmation page
that lists each entry and what will happen to it:

- approve: each entry on its own, through ``journal_entry_approve``; a refusal is a message naming
  the entry and the reason, and the others are still approved (an approval is undone by sending
  the entry back, and nothing reaches the books);
- post: all or none, through ``journal_entries_post_all`` (each entry through
  ``journal_entry_post``): if one is refused, none is posted and every refusal is named.
"""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from ledger.admin_journal import human_message
from ledger.errors import BulkPostRefusedError
from ledger.models import EntryStatus
from ledger.selectors.inbox import journal_entries_awaiting_approval_list
from ledger.services import entries as services
from ledger.services.inbox import journal_entries_post_all
from sheshi.access.roles import APPROVE
from sheshi.errors import SheshiError
from sheshi.tenancy.scoping import entity_ids_for

INBOX_URL_NAME = "ledger_journalentry_inbox"
# What each bulk action needs of an entry, and the words the confirmation page uses.
DOABLE = {"approve": EntryStatus.SUBMITTED, "post": EntryStatus.APPROVED}
VERBS = {"approve": "approved", "post": "posted"}
INBOX_PAGE_SIZE = 100  # as the admin's change lists; ?p=2 for the next page


def may_use_inbox(request) -> bool:
    return bool(entity_ids_for(request.user, APPROVE))


def inbox_view(modeladmin, request):
    """GET: the inbox, a page of INBOX_PAGE_SIZE entries (``?p=``) with their count. POST with
    ``do`` and entries: the confirmation page. POST with ``confirm``:
    the services run, then back to the inbox with one message per outcome."""
    if not may_use_inbox(request):
        raise PermissionDenied
    inbox = journal_entries_awaiting_approval_list(request.user)
    context = {**modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta}
    do = request.POST.get("do")
    if request.method == "POST" and do in DOABLE:
        ids = [int(i) for i in request.POST.getlist("entries") if i.isdigit()]
        # Only entries of the inbox: another's or an invisible id is never acted on.
        chosen = list(inbox.filter(pk__in=ids).order_by("pk"))
        if not chosen:
            modeladmin.message_user(request, "Select at least one entry.", messages.WARNING)
        elif "confirm" in request.POST:
            _run(modeladmin, request, do, chosen)
            return HttpResponseRedirect(reverse(f"admin:{INBOX_URL_NAME}"))
        else:
            rows = [(e, e.status == DOABLE[do]) for e in chosen]
            return TemplateResponse(request, "admin/ledger/journalentry/inbox_confirmation.html", {
                **context, "title": f"Confirm: {do} {len(chosen)} {'entry' if len(chosen) == 1 else 'entries'}",
                "do": do, "verb": VERBS[do], "rows": rows, "entries": chosen,
                "refused_count": sum(1 for _, ok in rows if not ok)})
    page = Paginator(inbox, INBOX_PAGE_SIZE).get_page(request.GET.get("p"))
    return TemplateResponse(request, "admin/ledger/journalentry/inbox.html", {
        **context, "title": "Awaiting my approval", "entries": list(page), "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)})


def _run(modeladmin, request, do: str, chosen) -> None:
    if do == "approve":
        done = 0
        for entry in chosen:
            try:
                services.journal_entry_approve(actor=request.user, entry_id=entry.pk)
                done += 1
            except (SheshiError, DatabaseError) as exc:
                modeladmin.message_user(request, f"Entry {entry.pk} was not approved: "
                                        f"{human_message(exc, 'approved')}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{done} {'entry' if done == 1 else 'entries'} approved.",
                                    messages.SUCCESS)
        return
    try:
        posted = journal_entries_post_all(actor=request.user, entry_ids=[e.pk for e in chosen])
    except BulkPostRefusedError as exc:
        modeladmin.message_user(request, f"Nothing was posted: {len(exc.refusals)} of {len(chosen)} entries "
                                "cannot be posted, and posting is all or none.", messages.ERROR)
        for entry_id, refusal in exc.refusals:
            modeladmin.message_user(request, f"Entry {entry_id} cannot be posted: {human_message(refusal, 'posted')}",
                                    messages.ERROR)
        return
    except (SheshiError, DatabaseError) as exc:
        modeladmin.message_user(request, f"Nothing was posted: {human_message(exc, 'posted')}", messages.ERROR)
        return
    modeladmin.message_user(request, f"{len(posted)} {'entry' if len(posted) == 1 else 'entries'} posted.",
                            messages.SUCCESS)
