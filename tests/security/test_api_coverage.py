"""Every write service is reachable through /api/v1/ — or says why not.

Write services are the public ``<noun>_<verb>`` functions defined in every ``services.py`` module
and ``services/`` package of the project's apps, plus the modules below that hold writes under
another name (WRITE_MODULES). Selectors and helpers (``*_get``/``*_list``, NOT_WRITES) are not
writes. A service counts as routed when a view class behind an /api/v1/ endpoint names it in its
code: its methods (and the helper functions of its own module they call) are read for the names
they load — ``services.journal_entry_post`` and a directly imported ``fx_rate_create`` alike.

A write service with no route fails the suite, unless it is listed in
- NOT_API_OPERATIONS: never a client's operation (a worker's job, a step of another service, a
  recorder every service calls) — say why; or
- NOT_YET_ROUTED: an operation the API still lacks, with its issue. Strict: an entry that gets a
  route fails until it is removed, so the list only shrinks.
"""
from __future__ import annotations

import importlib
import inspect
import types
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

WRITE_MODULES = [
    "ledger.services.chart", "ledger.services.batch", "ledger.services.year_end",
    "periods.services.close", "periods.services.checklist", "periods.services.reconciliation",
    "periods.services.group_lock", "audit.services.webhooks", "sheshi.access.services.tokens",
    "consolidation.services.rates_import", "consolidation.services.posting", "consolidation.services.ledger_access",
]

# Public functions of the modules above that write nothing (selectors and helpers by another name).
NOT_WRITES = {
    "request_fingerprint", "account_ids_by_code", "trial_balance_rows", "snapshot_hash", "lock_snapshot_verify",
    "anchor_load", "anchor_latest", "user_organisation_ids", "storage_name", "import_context", "job_stale_after",
    "inline_max_bytes", "entity_permission_codenames", "organisation_by_code",
    "entity_periods_resolve", "closing_period", "retained_earnings_account", "closing_lines", "http_post",
    "webhook_subscriptions_due", "elimination_ledger_code", "default_group_key", "group_period_is_locked",
    "members_locked", "evidence_storage_name", "signature_valid", "audit_digest_verify", "entries_check",
    "run_enqueue", "import_batch_enqueue", "digest_text", "reserve_ids", "source_needs_approval",
    # checks shared by the close services (periods/services/checklist.py, reconciliation.py)
    "entity_period_for_close", "entity_period_share_lock_unlocked", "named_actor_require",
}
READ_SUFFIXES = ("_get", "_list")

NOT_API_OPERATIONS = {
    "recurring_entries_generate": "the daily schedule's and manage.py generate_recurring_entries' run over a whole "
                                  "organisation; clients generate per entity (recurring_entries_generate_for_entity)",
    "audit_digest_create": "operator's act (manage.py audit_digest): a signed digest leaves the system for the "
                           "auditor; the evidence export (GET /audit/evidence/) signs its own manifest",
    "group_pack_load": "operator's act (manage.py load_group_pack): loads a whole case file into a new organisation "
                       "through the services, as the demo does",
    "journal_entries_post_bulk": "the set-based posting path under imports, the batch endpoint "
                                 "(journal_entries_batch_post) and consolidation eliminations",
    "journal_lines_insert": "a step inside the entry services (create, update, create and post): writes the "
                            "lines of an entry they have checked and locked",
    "audit_event_record": "the recorder every service calls in its own transaction; not an operation itself",
    "auth_event_record": "login/logout/failed-login events, written by the authentication signals",
    "audit_anchor_write": "scheduled job (manage.py audit_anchor): anchors leave the database by design",
    "consolidation_run_execute": "the django-q2 worker's job; clients queue runs (consolidation_run_request)",
    "consolidation_run_create": "step of the demo loader, which runs the run itself inside its own transaction; "
                                "clients queue runs (consolidation_run_request)",
    "consolidation_runs_request": "the admin's consolidate form (several periods, all or none); the API queues "
                                  "one run a request (consolidation_run_request)",
    "consolidation_run_progress": "the worker's progress notes inside consolidation_run_execute",
    "run_eliminations_post": "step of consolidation_run_execute (posts a succeeded run's eliminations)",
    "ic_worklist_sync": "step of consolidation_run_execute (a succeeded run refreshes the IC worklist)",
    "journal_entries_reverse_posted_bulk": "step of elimination replacement (a consolidation re-run reverses its "
                                           "previous run's journals set-based); clients reverse through "
                                           "journal_entry_reverse (POST /journal-entries/{id}/reverse/)",
    "journal_entry_reverse_posted": "step of import supersede, the year-end reopen and elimination replacement: "
                                    "a reversal posted at once as part of another act; clients reverse through "
                                    "journal_entry_reverse (POST /journal-entries/{id}/reverse/)",
    "elimination_ledger_ensure": "step of run_eliminations_post (creates the group's -ELIM entity on demand)",
    "import_batch_create": "step of import_batch_upload (and of the import_file command)",
    "import_batch_run": "the django-q2 worker's job for a queued import",
    "import_batch_reap": "housekeeping job: fails imports whose worker was lost",
    "entity_periods_open": "step of fiscal_year_generate (opens the new periods for every entity)",
    "close_tasks_create_for_periods": "step of fiscal_year_generate and the create_close_tasks command; clients "
                                      "create a period's tasks with POST /checklist-tasks/create-from-templates/",
    "webhook_deliver": "the delivery worker (manage.py webhooks_deliver)",
    "webhook_retry": "the delivery worker's retry bookkeeping",
    "user_groups_set": "Django groups only decide which admin pages a staff user sees; set by the demo loader "
                       "(system) or a superuser in the user admin, never a client's operation",
}

NOT_YET_ROUTED = {
    "group_period_lock": "issue #18: a lock of an ad-hoc set of entities; groups lock through "
                         "consolidation_group_period_lock (POST /consolidation-groups/{id}/lock/)",
    "group_period_unlock": "issue #18: an ad-hoc entity set's unlock; groups unlock through "
                           "consolidation_group_period_unlock (POST /consolidation-groups/{id}/unlock/)",
    "webhook_subscription_create": "issue #18: webhook subscriptions",
    "webhook_replay": "issue #18: webhook replay (manage.py replay_webhooks today)",
    "entity_bank_details_set": "issue #18: bank details are read-only over the API (admin only)",
    "membership_set": "issue #14: memberships are made by the demo loader, commands and tests through the service "
                      "(the membership admin is read-only); no membership endpoint yet",
    "membership_remove": "issue #14: as membership_set",
}


def _project_root() -> Path:
    return Path(settings.BASE_DIR).resolve()


def service_modules() -> list[str]:
    """Every services.py / services/ module of the project's apps, and WRITE_MODULES."""
    root, found = _project_root(), set(WRITE_MODULES)
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if root not in path.parents or ".venv" in path.parts:
            continue
        for file in path.rglob("*.py"):
            rel = file.relative_to(root)
            if "migrations" in rel.parts or "tests" in rel.parts:
                continue
            if file.name == "services.py" or "services" in rel.parts[:-1]:
                found.add(".".join(rel.with_suffix("").parts).removesuffix(".__init__"))
    return sorted(found)


def write_services() -> dict[str, str]:
    """name -> module of every write service."""
    out: dict[str, str] = {}
    for module_name in service_modules():
        module = importlib.import_module(module_name)
        for name, fn in vars(module).items():
            if (inspect.isfunction(fn) and fn.__module__ == module_name and not name.startswith("_") and "_" in name
                    and not name.endswith(READ_SUFFIXES) and name not in NOT_WRITES):
                assert name not in out, f"{name} is defined in {out[name]} and {module_name}: names must be unique"
                out[name] = module_name
    return out


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _view_functions(view_class) -> list[types.FunctionType]:
    fns = []
    for klass in view_class.__mro__:
        if not (_project_root() / klass.__module__.split(".")[0]).is_dir():
            continue  # DRF's and Django's own classes
        for attr in vars(klass).values():
            fn = getattr(attr, "__func__", attr)
            fn = inspect.unwrap(fn) if callable(fn) else fn
            if inspect.isfunction(fn):
                fns.append(fn)
    return fns


def names_used_by(view_class) -> set[str]:
    """Names loaded by the view's methods and by the same-module helper functions they call."""
    seen: set = set()
    names: set[str] = set()
    todo = _view_functions(view_class)
    while todo:
        fn = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        used = _names(fn.__code__)
        names |= used
        for name in used:
            helper = fn.__globals__.get(name)
            if inspect.isfunction(helper) and helper.__module__ == fn.__module__:
                todo.append(helper)
    return names


def routed_names() -> set[str]:
    from drf_spectacular.generators import EndpointEnumerator

    names: set[str] = set()
    for path, _regex, _method, callback in EndpointEnumerator().get_api_endpoints():
        if path.startswith("/api/v1/") and hasattr(callback, "cls"):
            names |= names_used_by(callback.cls)
    return names


WRITES = write_services()
ROUTED = routed_names()


def test_service_discovery_finds_the_known_write_services():
    assert {"journal_entry_post", "journal_entry_update", "journal_entry_void", "fx_rate_create",
            "consolidation_group_create", "group_member_add", "api_token_issue", "api_token_revoke",
            "role_grant", "import_batch_upload"} <= set(WRITES)
    assert "journal_entry_list" not in WRITES


def test_every_write_service_has_a_route_or_a_reason():
    missing = sorted(f"{WRITES[name]}.{name}" for name in WRITES
                     if name not in ROUTED and name not in NOT_API_OPERATIONS and name not in NOT_YET_ROUTED)
    assert not missing, ("Write services no /api/v1/ view calls: add a route (parse -> one service call -> "
                         "output) or, if it is not a client's operation, a reasoned entry in NOT_API_OPERATIONS "
                         f"in {__file__}:\n  " + "\n  ".join(missing))


@pytest.mark.parametrize("name", sorted(NOT_YET_ROUTED))
def test_not_yet_routed_entries_are_still_unrouted(name):
    assert name in WRITES, f"{name} is no longer a write service: remove it from NOT_YET_ROUTED"
    assert name not in ROUTED, f"{name} has a route now: remove it from NOT_YET_ROUTED"


def test_allowlists_name_existing_services_and_do_not_overlap():
    stale = sorted((set(NOT_API_OPERATIONS) | set(NOT_YET_ROUTED)) - set(WRITES))
    assert not stale, f"Allowlisted names that are not write services (any more): {stale}"
    assert not set(NOT_API_OPERATIONS) & set(NOT_YET_ROUTED)
    routed = sorted(set(NOT_API_OPERATIONS) & ROUTED)
    assert not routed, f"Services listed as 'not an API operation' but routed, drop their entries: {routed}"
    assert all(len(reason) > 20 for reason in (*NOT_API_OPERATIONS.values(), *NOT_YET_ROUTED.values()))


def test_the_check_would_catch_a_new_unrouted_service():
    """The detection itself: a view naming a service counts, one that does not is missing."""

    class Probe:
        def post(self, request):
            from consolidation.services import runs as services
            return services.fx_rate_create(actor=request.user)

    assert "fx_rate_create" in names_used_by(Probe)
    assert "adjustment_record" not in names_used_by(Probe)
