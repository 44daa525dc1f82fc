"""Who may do what: the authorisation matrix's expectations, one entry per endpoint and method.

tests/security/test_matrix.py enumerates every /api/v1/ endpoint and method from the URL
configuration (drf-spectacular's endpoint enumerator, the same source as the OpenAPI schema) and
calls each one as every caller (tests/security/world.py: viewer, preparer, approver, controller,
auditor, org_admin, a member with no role, anonymous) against an object of the caller's own
entity, of another entity of the same organisation, and of another organisation. The outcome
each cell must have is derived from the entry here:

    anonymous                                  -> 401 (problem+json)
    target outside the caller's view           -> 404 (``invisible``): another organisation always;
                                                  another entity of the organisation when
                                                  level="entity"; the own entity when the caller
                                                  is not in ``see``
    visible, but caller not in ``do``          -> 403 (``denied``)
    otherwise                                  -> one of ``ok`` (the action worked)

List endpoints (``lists=kind``) answer 200 to every authenticated caller; instead the results
must contain the own object exactly when the caller is in ``see`` (and the other entity's object
only for level="org"), and never another organisation's. Every cell runs in a savepoint that is
rolled back, so cells do not affect each other; a refused cell must also write nothing.

HOW TO ADD AN ENDPOINT (the matrix fails until you do):
1. Add ``("/api/v1/<path with {id}>", "<METHOD>"): Expect(...)`` to ``EXPECTATIONS`` below. Use
   the path exactly as the failure message prints it.
2. Say which roles see the target (``see``) and which may act (``do``; omit for reads), whether
   the other entity of the same organisation is visible (``level="org"``, for organisation-wide
   objects such as the chart of accounts), and how the request names its target: ``target=kind``
   for the ``{id}`` path parameter, ``query=`` / ``body=`` callables ``(world, scope) -> dict``
   for codes in the query string or body. An upload endpoint takes ``multipart=True``: its body
   callable returns a fresh file object (e.g. ``SimpleUploadedFile``) on every call. Request
   headers (e.g. ``If-Match`` for a conditional write) come from ``headers=`` ``(world, scope) -> dict``.
3. If the endpoint acts on a new kind of object, add a builder to tests/security/world.py.
4. Write what the product rules say, not what the code happens to do. If the matrix then shows a
   cell the code gets wrong, fix the code — or, if it needs a decision, leave the expectation
   and mark it ``known_gap="issue #N: …"`` so it is reported (xfail-strict) instead of hidden.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.security.world import ENTRY_DATE, OWN, PERIOD, ROLES, World, import_csv

ALL_ROLES = frozenset(ROLES)
EVERY_MEMBER = ALL_ROLES | {"member"}
PREPARERS = frozenset({"preparer", "controller"})
APPROVERS = frozenset({"approver", "controller"})
ORG_ADMINS = frozenset({"org_admin"})
CONTROLLERS = frozenset({"controller"})
BUSINESS_REFUSALS = frozenset({409, 422})  # past authorisation, refused by a rule of the state (e.g. year-end)


@dataclass(frozen=True)
class Expect:
    see: frozenset[str] = ALL_ROLES
    do: frozenset[str] | None = None  # None: the same as ``see`` (reads)
    level: str = "entity"  # "entity" | "org" | "none" (not tenant data: schema and docs)
    target: str | None = None  # world kind filling the {id} path parameter
    lists: str | None = None  # world kind whose objects a list endpoint returns
    query: Callable[[World, str], dict] | None = None
    body: Callable[[World, str], dict] | None = None
    ok: frozenset[int] = frozenset({200})
    invisible: int = 404
    denied: int = 403
    params: Callable[[World, str], dict] | None = None  # path parameters other than {id}
    anonymous: str = "401"  # "ok" for deliberately public endpoints
    multipart: bool = False  # send ``body`` as multipart/form-data (it may hold file objects), not JSON
    headers: Callable[[World, str], dict] | None = None  # request headers, e.g. If-Match
    known_gap: str = ""

    @property
    def allowed(self) -> frozenset[str]:
        return self.see if self.do is None else self.do


def _report(w: World, s: str) -> dict:
    return {"entity": w.get("entity_code", s), "period": PERIOD}


def _gl(w: World, s: str) -> dict:
    return {**_report(w, s), "account": "1200"}


def _entry_body(w: World, s: str) -> dict:
    return {"entity": w.get("entity_code", s), "entry_date": ENTRY_DATE.isoformat(), "description": "matrix",
            "lines": [{"account": "1200", "amount": "10.0000"}, {"account": "4100", "amount": "-10.0000"}]}


def _batch_body(w: World, s: str) -> dict:
    entry = _entry_body(w, s)
    return {"entity": entry.pop("entity"), "entries": [entry]}


def _prepare_body(w: World, s: str) -> dict:
    # The statement balance equals the GL closing balance, so the preparer's signature is accepted.
    from ledger.selectors.books import account_closing_figures
    from periods.models import EntityPeriod

    ep = EntityPeriod.objects.get(pk=w.get("entity_period", s))
    closing = account_closing_figures(entity_id=ep.entity_id, period_id=ep.period_id, account_id=w.get("account", s))[0]
    return {"entity_period": ep.pk, "account": w.get("account", s), "statement_balance": str(closing)}


def _dashboard_query(w: World, s: str) -> dict:
    from periods.models import FiscalYear

    fiscal_year = FiscalYear.objects.get(pk=w.get("fiscal_year", s))
    return {"organisation": fiscal_year.organisation.code, "fiscal_year": fiscal_year.code}


def _draft_if_match(w: World, s: str) -> dict:
    from ledger.etags import journal_entry_etag
    from ledger.models import JournalEntry

    return {"If-Match": journal_entry_etag(JournalEntry.objects.get(pk=w.get("entry_draft", s)))}


def _recurrence_if_match(w: World, s: str) -> dict:
    from ledger.etags import journal_recurrence_etag
    from ledger.models import JournalRecurrence

    return {"If-Match": journal_recurrence_etag(JournalRecurrence.objects.get(pk=w.get("journal_recurrence", s)))}


def _account_body(w: World, s: str) -> dict:
    return {"organisation": w.get("organisation", s), "code": "9990", "name": "Matrix", "type": "expense",
            "parent": "5000"}


def _upload_body(w: World, s: str) -> dict:
    # Other bytes than the world's batch (the same file twice is a 409 duplicate).
    return {"file": SimpleUploadedFile("matrix_upload.csv", import_csv("75.00"), content_type="text/csv"),
            "entity": w.get("entity_code", s), "period": PERIOD, "source_system": w.get("source_system", s)}


def _source_system_body(w: World, s: str) -> dict:
    return {"organisation": w.get("organisation", s), "code": "MXNEW", "name": "Matrix ERP",
            "mapping": {"kind": "trial_balance", "account": "Account", "amount": "Amount"}}


def _holding_body(w: World, s: str) -> dict:
    # The own group (topped by MXA1) takes MXA2 as a subsidiary; other scopes' groups are invisible.
    return {"group": w.get("consolidation_group", s), "entity": "MXA2" if s == OWN else "MXA1",
            "parent": w.get("entity_code", s), "ownership_pct": "80.0000", "acquired_on": "2026-01-01"}


def _rates_file_body(w: World, s: str) -> dict:
    return {"organisation": w.get("organisation", s),
            "file": SimpleUploadedFile("rates.csv", b"from,to,type,rate,date\nGBP,EUR,closing,1.17,2026-02-28\n")}


def _fx_rate_body(w: World, s: str) -> dict:
    return {"organisation": w.get("organisation", s), "from_currency": "USD", "to_currency": "EUR",
            "rate_type": "average", "rate_date": "2026-02-28", "rate": "0.912345678901"}


EXPECTATIONS: dict[tuple[str, str], Expect] = {
    # Not tenant data: the schema and its docs are public by the lead's decision (commit d1181d2).
    ("/api/v1/schema/", "GET"): Expect(see=EVERY_MEMBER, level="none", anonymous="ok"),
    ("/api/v1/docs/", "GET"): Expect(see=EVERY_MEMBER, level="none", anonymous="ok"),
    ("/api/v1/redoc/", "GET"): Expect(see=EVERY_MEMBER, level="none", anonymous="ok"),
    # Tenancy
    ("/api/v1/organisations/", "GET"): Expect(see=EVERY_MEMBER, level="org", lists="organisation"),
    ("/api/v1/organisations/{id}/", "GET"): Expect(see=EVERY_MEMBER, level="org", target="organisation"),
    ("/api/v1/entities/", "GET"): Expect(lists="entity"),
    ("/api/v1/entities/{id}/", "GET"): Expect(target="entity"),
    # Roles: organisation admins grant and revoke them on an entity they see.
    ("/api/v1/entities/{id}/grant-role/", "POST"): Expect(do=ORG_ADMINS, target="entity",
                                                          body=lambda w, s: {"user": "mx_member", "role": "viewer"}),
    ("/api/v1/entities/{id}/revoke-role/", "POST"): Expect(do=ORG_ADMINS, target="entity",
                                                           body=lambda w, s: {"user": "mx_viewer", "role": "viewer"}),
    # Bank details: masked output for anyone who may view the entity.
    ("/api/v1/entity-bank-details/", "GET"): Expect(lists="bank_details"),
    ("/api/v1/entity-bank-details/{id}/", "GET"): Expect(target="bank_details"),
    # Chart of accounts: organisation-wide; only organisation admins change it.
    ("/api/v1/accounts/", "GET"): Expect(see=EVERY_MEMBER, level="org", lists="account"),
    ("/api/v1/accounts/", "POST"): Expect(see=EVERY_MEMBER, do=ORG_ADMINS, level="org", body=_account_body,
                                          ok=frozenset({201})),
    ("/api/v1/accounts/{id}/", "GET"): Expect(see=EVERY_MEMBER, level="org", target="account"),
    ("/api/v1/accounts/{id}/move/", "POST"): Expect(see=EVERY_MEMBER, do=ORG_ADMINS, level="org", target="account",
                                                    body=lambda w, s: {"parent": "1000"}),
    # Journal entries: workflow actions by permission; approval by someone other than the preparer.
    ("/api/v1/journal-entries/", "GET"): Expect(lists="entry_posted"),
    ("/api/v1/journal-entries/", "POST"): Expect(do=PREPARERS, body=_entry_body, ok=frozenset({201})),
    ("/api/v1/journal-entries/batch/", "POST"): Expect(do=PREPARERS, body=_batch_body, ok=frozenset({201})),
    ("/api/v1/journal-entries/{id}/", "GET"): Expect(target="entry_posted"),
    ("/api/v1/journal-entries/{id}/submit/", "POST"): Expect(do=PREPARERS, target="entry_draft"),
    ("/api/v1/journal-entries/{id}/approve/", "POST"): Expect(do=APPROVERS, target="entry_submitted"),
    ("/api/v1/journal-entries/{id}/reject/", "POST"): Expect(do=APPROVERS, target="entry_submitted"),
    ("/api/v1/journal-entries/{id}/post/", "POST"): Expect(do=PREPARERS, target="entry_draft"),
    # Posting several at once is posting each: the same rule as the single post, all or none.
    ("/api/v1/journal-entries/post-all/", "POST"): Expect(
        do=PREPARERS, body=lambda w, s: {"entries": [w.get("entry_draft", s)]}),
    # Editing a draft (conditional on its ETag) is preparing; withdrawing one is preparing or approving.
    ("/api/v1/journal-entries/{id}/", "PATCH"): Expect(do=PREPARERS, target="entry_draft", headers=_draft_if_match,
                                                       body=lambda w, s: {"description": "matrix edit"}),
    ("/api/v1/journal-entries/{id}/void/", "POST"): Expect(do=PREPARERS | APPROVERS, target="entry_draft",
                                                           body=lambda w, s: {"reason": "matrix"}),
    ("/api/v1/journal-entries/{id}/reverse/", "POST"): Expect(do=PREPARERS, target="entry_posted",
                                                              body=lambda w, s: {}, ok=frozenset({201})),
    # Supporting documents and comments: read by whoever sees the entry; added by those who prepare or
    # approve its entity's entries (on an entry of any status).
    ("/api/v1/journal-entries/{id}/attachments/", "GET"): Expect(target="entry_posted"),
    ("/api/v1/journal-entries/{id}/attachments/", "POST"): Expect(
        do=PREPARERS | APPROVERS, target="entry_posted", ok=frozenset({201}), multipart=True,
        body=lambda w, s: {"file": SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 matrix invoice",
                                                      content_type="application/pdf")}),
    ("/api/v1/journal-entries/{id}/attachments/{attachment_id}/", "GET"): Expect(
        target="entry_posted", params=lambda w, s: {"attachment_id": w.get("journal_attachment", s)}),
    ("/api/v1/journal-entries/{id}/comments/", "GET"): Expect(target="entry_posted"),
    ("/api/v1/journal-entries/{id}/comments/", "POST"): Expect(
        do=PREPARERS | APPROVERS, target="entry_posted", ok=frozenset({201}), body=lambda w, s: {"body": "matrix"}),
    # Journal templates: read by whoever sees the entity; saved and used by those who prepare entries.
    ("/api/v1/journal-templates/", "GET"): Expect(lists="journal_template"),
    ("/api/v1/journal-templates/{id}/", "GET"): Expect(target="journal_template"),
    ("/api/v1/journal-templates/", "POST"): Expect(
        do=PREPARERS, ok=frozenset({201}), body=lambda w, s: {"entry": w.get("entry_posted", s), "name": "matrix new"}),
    ("/api/v1/journal-templates/{id}/new-entry/", "POST"): Expect(
        do=PREPARERS, target="journal_template", ok=frozenset({201}),
        body=lambda w, s: {"entry_date": ENTRY_DATE.isoformat()}),
    # Recurring entries: read by whoever sees the entity; set up and run by those who prepare entries.
    ("/api/v1/journal-recurrences/", "GET"): Expect(lists="journal_recurrence"),
    ("/api/v1/journal-recurrences/{id}/", "GET"): Expect(target="journal_recurrence"),
    ("/api/v1/journal-recurrences/", "POST"): Expect(
        do=PREPARERS, ok=frozenset({201}),
        body=lambda w, s: {"template": w.get("journal_template", s), "start_period": PERIOD, "day_of_month": 5}),
    ("/api/v1/journal-recurrences/generate/", "POST"): Expect(
        do=PREPARERS, body=lambda w, s: {"entity": w.get("entity_code", s), "period": PERIOD}),
    # Changed (conditional on its ETag) by those who prepare entries; stopped by those who prepare or approve.
    ("/api/v1/journal-recurrences/{id}/", "PATCH"): Expect(
        do=PREPARERS, target="journal_recurrence", headers=_recurrence_if_match,
        body=lambda w, s: {"day_of_month": 7}),
    ("/api/v1/journal-recurrences/{id}/stop/", "POST"): Expect(
        do=PREPARERS | APPROVERS, target="journal_recurrence", body=lambda w, s: {"reason": "matrix"}),
    # Reports: anyone who may view the entity named in the query.
    ("/api/v1/reports/trial-balance/", "GET"): Expect(query=_report),
    ("/api/v1/reports/balance-sheet/", "GET"): Expect(query=_report),
    ("/api/v1/reports/income-statement/", "GET"): Expect(query=_report),
    ("/api/v1/reports/general-ledger/", "GET"): Expect(query=_gl),
    # Fiscal calendar: organisation-wide reads; transitions per entity with close/reopen rights.
    ("/api/v1/fiscal-years/", "GET"): Expect(see=EVERY_MEMBER, level="org", lists="fiscal_year"),
    ("/api/v1/fiscal-years/generate/", "POST"): Expect(
        see=EVERY_MEMBER, do=ORG_ADMINS, level="org",
        body=lambda w, s: {"organisation": w.get("organisation", s), "year": 2027}),
    ("/api/v1/fiscal-years/{id}/", "GET"): Expect(see=EVERY_MEMBER, level="org", target="fiscal_year"),
    ("/api/v1/fiscal-years/{id}/year-end-close/", "POST"): Expect(
        do=CONTROLLERS, target="fiscal_year", body=lambda w, s: {"entity": w.get("entity", s)},
        ok=frozenset({200}) | BUSINESS_REFUSALS),
    ("/api/v1/fiscal-years/{id}/year-end-reopen/", "POST"): Expect(
        do=CONTROLLERS, target="fiscal_year", body=lambda w, s: {"entity": w.get("entity", s), "reason": "matrix"},
        ok=frozenset({200}) | BUSINESS_REFUSALS),
    ("/api/v1/periods/", "GET"): Expect(see=EVERY_MEMBER, level="org", lists="period"),
    ("/api/v1/periods/{id}/", "GET"): Expect(see=EVERY_MEMBER, level="org", target="period"),
    ("/api/v1/entity-periods/", "GET"): Expect(lists="entity_period"),
    ("/api/v1/entity-periods/{id}/", "GET"): Expect(target="entity_period"),
    ("/api/v1/entity-periods/{id}/soft-close/", "POST"): Expect(do=CONTROLLERS, target="entity_period_empty",
                                                                body=lambda w, s: {"reason": "matrix"}),
    ("/api/v1/entity-periods/{id}/lock/", "POST"): Expect(do=CONTROLLERS, target="entity_period_empty",
                                                          body=lambda w, s: {"reason": "matrix"}),
    ("/api/v1/entity-periods/{id}/reopen/", "POST"): Expect(do=CONTROLLERS, target="entity_period_closed",
                                                            body=lambda w, s: {"reason": "matrix"}),
    ("/api/v1/entity-periods/move/", "POST"): Expect(
        do=CONTROLLERS, body=lambda w, s: {"entity_periods": [w.get("entity_period_empty", s)], "to": "soft_closed",
                                           "reason": "matrix"}),
    # Account reconciliations: preparers sign, approvers review.
    ("/api/v1/reconciliations/", "GET"): Expect(lists="reconciliation"),
    ("/api/v1/reconciliations/{id}/", "GET"): Expect(target="reconciliation"),
    ("/api/v1/reconciliations/prepare/", "POST"): Expect(do=PREPARERS, body=_prepare_body),
    # Requiring reconciliations is closing; reconciling items are preparing; evidence is preparing or approving.
    ("/api/v1/reconciliations/", "POST"): Expect(
        do=CONTROLLERS, ok=frozenset({201}),
        body=lambda w, s: {"entity_period": w.get("entity_period", s), "accounts": [w.get("account", s)]}),
    ("/api/v1/reconciliations/{id}/items/", "POST"): Expect(
        do=PREPARERS, target="reconciliation", ok=frozenset({201}),
        body=lambda w, s: {"description": "timing", "amount": "5.0000"}),
    ("/api/v1/reconciliations/{id}/evidence/", "POST"): Expect(
        do=PREPARERS | APPROVERS, target="reconciliation", ok=frozenset({201}), multipart=True,
        body=lambda w, s: {"file": SimpleUploadedFile("statement.pdf", b"%PDF-1.4 matrix",
                                                      content_type="application/pdf")}),
    ("/api/v1/reconciliations/{id}/review/", "POST"): Expect(do=APPROVERS, target="reconciliation"),
    # Close checklist: templates are organisation-wide (every member reads; org admins and close
    # rights write); tasks belong to the entity-period (close rights create and assign them; the
    # owner or close rights move them, and moving needs prepare rights too).
    ("/api/v1/checklist-templates/", "GET"): Expect(see=EVERY_MEMBER, level="org", lists="checklist_template"),
    ("/api/v1/checklist-templates/", "POST"): Expect(
        see=EVERY_MEMBER, do=CONTROLLERS | ORG_ADMINS, level="org", ok=frozenset({201}),
        body=lambda w, s: {"organisation": w.get("organisation", s), "name": "Matrix new",
                           "items": [{"title": "Accruals booked", "default_owner_role": "preparer"}]}),
    ("/api/v1/checklist-templates/{id}/", "GET"): Expect(see=EVERY_MEMBER, level="org", target="checklist_template"),
    ("/api/v1/checklist-tasks/", "GET"): Expect(lists="checklist_task"),
    ("/api/v1/checklist-tasks/{id}/", "GET"): Expect(target="checklist_task"),
    ("/api/v1/checklist-tasks/instantiate/", "POST"): Expect(
        do=CONTROLLERS, body=lambda w, s: {"entity_period": w.get("entity_period_empty", s),
                                           "template": w.get("checklist_template", s)}),
    ("/api/v1/checklist-tasks/{id}/assign/", "POST"): Expect(do=CONTROLLERS, target="checklist_task",
                                                             body=lambda w, s: {"owner": "mx_preparer"}),
    ("/api/v1/checklist-tasks/create-from-templates/", "POST"): Expect(
        do=CONTROLLERS, body=lambda w, s: {"entity_period": w.get("entity_period_empty", s)}),
    # Sign-off is approving; the world's task is not done, so those allowed meet a rule of the state.
    ("/api/v1/checklist-tasks/{id}/sign-off/", "POST"): Expect(do=APPROVERS, target="checklist_task",
                                                               ok=BUSINESS_REFUSALS),
    # Comments: whoever works on the entity's close (prepare, approve, close or audit).
    ("/api/v1/checklist-tasks/{id}/comments/", "POST"): Expect(
        do=PREPARERS | APPROVERS | {"auditor"}, target="checklist_task", ok=frozenset({201}),
        body=lambda w, s: {"body": "matrix"}),
    # The close dashboard: every member of the organisation (it shows only the entities they view).
    ("/api/v1/close/dashboard/", "GET"): Expect(see=EVERY_MEMBER, level="org", query=_dashboard_query),
    ("/api/v1/checklist-tasks/{id}/status/", "POST"): Expect(do=CONTROLLERS, target="checklist_task",
                                                             body=lambda w, s: {"status": "done"}),
    # Consolidation runs: visible with the top entity; requested with close rights there. The
    # world's run is still queued, so its results answer 409 to those allowed to read them.
    ("/api/v1/consolidation-runs/", "GET"): Expect(lists="consolidation_run"),
    ("/api/v1/consolidation-runs/", "POST"): Expect(
        do=CONTROLLERS, body=lambda w, s: {"group": w.get("consolidation_group", s), "period": PERIOD},
        ok=frozenset({202})),
    ("/api/v1/consolidation-runs/{id}/", "GET"): Expect(target="consolidation_run"),
    ("/api/v1/consolidation-runs/{id}/results/", "GET"): Expect(target="consolidation_run",
                                                                ok=frozenset({200, 409})),
    ("/api/v1/consolidation-runs/{id}/board-pack/", "GET"): Expect(target="consolidation_run",
                                                                   ok=frozenset({200, 409})),
    ("/api/v1/consolidation-runs/{id}/accounts/{code}/", "GET"): Expect(
        target="consolidation_run", params=lambda w, s: {"code": "1200"}, ok=frozenset({200, 409})),
    ("/api/v1/consolidation-runs/{id}/statements/", "GET"): Expect(target="consolidation_run",
                                                                   ok=frozenset({200, 409})),
    ("/api/v1/consolidation-runs/{id}/accounts/{code}/members/{entity}/", "GET"): Expect(
        target="consolidation_run", params=lambda w, s: {"code": "1200", "entity": w.get("entity_code", s)},
        ok=frozenset({200, 409})),
    # A queued run has nothing to compare: 400 (not comparable) to those who may read it.
    ("/api/v1/consolidation-runs/{id}/compare/", "GET"): Expect(
        target="consolidation_run", query=lambda w, s: {"with": w.get("consolidation_run", s)},
        ok=frozenset({200, 400})),
    # The intercompany worklist: visible with the group's top entity or either member of the pair;
    # controllers assign and resolve, preparers of the pair (and controllers) explain and comment.
    ("/api/v1/ic-differences/", "GET"): Expect(lists="ic_difference"),
    ("/api/v1/ic-differences/{id}/", "GET"): Expect(target="ic_difference"),
    ("/api/v1/ic-differences/{id}/assign/", "POST"): Expect(do=CONTROLLERS, target="ic_difference",
                                                            body=lambda w, s: {"assignee": None}),
    ("/api/v1/ic-differences/{id}/explain/", "POST"): Expect(do=PREPARERS, target="ic_difference",
                                                             body=lambda w, s: {"explanation": "timing"}),
    ("/api/v1/ic-differences/{id}/resolve/", "POST"): Expect(do=CONTROLLERS, target="ic_difference",
                                                             body=lambda w, s: {"resolution": "booked"}),
    ("/api/v1/ic-differences/{id}/comments/", "POST"): Expect(do=PREPARERS, target="ic_difference",
                                                              body=lambda w, s: {"text": "see invoice"},
                                                              ok=frozenset({201})),
    # Consolidation groups and their holdings: visible with the top entity, created with close
    # rights there (consolidation_group_create, group_member_add).
    ("/api/v1/consolidation-groups/", "GET"): Expect(lists="consolidation_group"),
    ("/api/v1/consolidation-groups/", "POST"): Expect(
        do=CONTROLLERS, ok=frozenset({201}),
        body=lambda w, s: {"code": "GMATRIX", "name": "Matrix group", "top_entity": w.get("entity_code", s)}),
    ("/api/v1/consolidation-groups/{id}/", "GET"): Expect(target="consolidation_group"),
    # The group's lock of a month: close rights on the top entity; the world's members are open
    # (and its group has never locked), so those allowed meet a rule of the state.
    ("/api/v1/consolidation-groups/{id}/lock/", "POST"): Expect(
        do=CONTROLLERS, target="consolidation_group", body=lambda w, s: {"period": PERIOD},
        ok=BUSINESS_REFUSALS | {201}),
    ("/api/v1/consolidation-groups/{id}/unlock/", "POST"): Expect(
        do=CONTROLLERS, target="consolidation_group", body=lambda w, s: {"period": PERIOD, "reason": "restate"},
        ok=BUSINESS_REFUSALS | {204}),
    # The group's consolidation ledger (consolidation/services/ledger_access.py): visible through the top
    # entity, but its journals and adjustments need a role granted on the ledger itself, which
    # nobody in the matrix holds; organisation admins grant those roles.
    ("/api/v1/consolidation-groups/{id}/journals/{period_code}/", "GET"): Expect(
        do=frozenset(), target="consolidation_group", params=lambda w, s: {"period_code": PERIOD}),
    ("/api/v1/consolidation-groups/{id}/adjustments/", "POST"): Expect(
        do=frozenset(), target="consolidation_group", ok=frozenset({201}),
        body=lambda w, s: {"period": PERIOD, "description": "matrix", "lines": _entry_body(w, s)["lines"]}),
    ("/api/v1/consolidation-groups/{id}/ledger-roles/", "POST"): Expect(
        do=ORG_ADMINS, target="consolidation_group", ok=frozenset({204}),
        body=lambda w, s: {"username": "mx_viewer", "role": "viewer"}),
    ("/api/v1/holdings/", "GET"): Expect(lists="holding"),
    ("/api/v1/holdings/", "POST"): Expect(do=CONTROLLERS, body=_holding_body, ok=frozenset({201})),
    ("/api/v1/holdings/{id}/", "GET"): Expect(target="holding"),
    ("/api/v1/acquisition-facts/", "GET"): Expect(lists="acquisition_fact"),
    ("/api/v1/acquisition-facts/", "POST"): Expect(
        do=CONTROLLERS, ok=frozenset({201}),
        body=lambda w, s: {"group": w.get("consolidation_group", s), "kind": "pre_acquisition_pl",
                           "entity": w.get("entity_code", s),
                           "lines": [{"account": "4100", "amount": "-50.0000"}]}),
    ("/api/v1/acquisition-facts/{id}/", "GET"): Expect(target="acquisition_fact"),
    # FX rates: organisation-wide; every member reads them, close rights on an entity of the
    # organisation enter them (fx_rate_create).
    ("/api/v1/fx-rates/", "GET"): Expect(see=EVERY_MEMBER, level="org", lists="fx_rate"),
    ("/api/v1/fx-rates/", "POST"): Expect(see=EVERY_MEMBER, do=CONTROLLERS, level="org", ok=frozenset({201}),
                                          body=_fx_rate_body),
    ("/api/v1/fx-rates/{id}/", "GET"): Expect(see=EVERY_MEMBER, level="org", target="fx_rate"),
    ("/api/v1/fx-rates/upload/", "POST"): Expect(see=EVERY_MEMBER, do=CONTROLLERS, level="org", ok=frozenset({201}),
                                                 body=_rates_file_body, multipart=True),
    # Imports: batches are the entity's data (every role-holder reads them, their file included);
    # preparers upload. Source systems (saved mappings) are organisation-wide: every member reads
    # them; preparers and organisation admins save them. The drill-down is a report.
    ("/api/v1/import-batches/", "GET"): Expect(lists="import_batch"),
    ("/api/v1/import-batches/", "POST"): Expect(do=PREPARERS, body=_upload_body, multipart=True,
                                                ok=frozenset({201})),
    ("/api/v1/import-batches/{id}/", "GET"): Expect(target="import_batch"),
    ("/api/v1/import-batches/{id}/file/", "GET"): Expect(target="import_batch"),
    ("/api/v1/source-systems/", "GET"): Expect(see=EVERY_MEMBER, level="org", lists="source_system"),
    ("/api/v1/source-systems/", "POST"): Expect(see=EVERY_MEMBER, do=PREPARERS | ORG_ADMINS, level="org",
                                                body=_source_system_body, ok=frozenset({201})),
    ("/api/v1/source-systems/{id}/", "GET"): Expect(see=EVERY_MEMBER, level="org", target="source_system"),
    ("/api/v1/reports/trial-balance/lines/", "GET"): Expect(query=_gl),
    # API tokens are the caller's own, not tenant data: every signed-in caller lists and issues
    # their own; someone else's token is not found (404) for everybody, so none can revoke it.
    ("/api/v1/tokens/", "GET"): Expect(see=EVERY_MEMBER, level="none"),
    ("/api/v1/tokens/", "POST"): Expect(see=EVERY_MEMBER, level="none", ok=frozenset({201}),
                                        body=lambda w, s: {"name": "matrix", "scopes": ["read"]}),
    ("/api/v1/tokens/{id}/revoke/", "POST"): Expect(see=EVERY_MEMBER, do=frozenset(), level="none",
                                                    target="api_token", denied=404),
    # Audit evidence (audit/evidence/api.py): the organisation's archive for holders of the auditor
    # permission; any other member of the organisation is refused (403), another organisation is 404.
    # The audit trail (audit/api.py): the same rule as the evidence archive.
    ("/api/v1/audit/events/", "GET"): Expect(
        see=EVERY_MEMBER, do=frozenset({"auditor"}), level="org",
        query=lambda w, s: {"organisation_id": w.get("organisation", s)}),
    ("/api/v1/audit/evidence/", "GET"): Expect(
        see=EVERY_MEMBER, do=frozenset({"auditor"}), level="org",
        query=lambda w, s: {"organisation_id": w.get("organisation", s), "period": PERIOD}),
}
