"""The admin is not a second way in (issue #20): every ModelAdmin registered on the project's admin
site(s) is read-only or writes through named services (sheshi/admin_writes.py), and no history
page can revert a row."""
from __future__ import annotations

import importlib
import inspect
import re
import sys

import pytest
from django.contrib import admin
from django.contrib.admin.sites import all_sites
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from simple_history.admin import SimpleHistoryAdmin

from sheshi.admin_writes import NoRevertHistoryMixin

pytestmark = pytest.mark.django_db

# Framework admins that may write without a project service, and why. Keyed by "app_label.model".
FRAMEWORK_ALLOWED = {
    # Django's user accounts and permission groups: platform administration by superusers; Sheshi
    # has no user service, and entity roles are guardian permissions granted by role_grant, not here.
    "auth.user": "user accounts are managed by superusers; no project service owns them",
    "auth.group": "permission groups are managed by superusers; entity roles go through role_grant",
    # django-q2's own pages: queued tasks, results and schedules of the job runner.
    "django_q.schedule": "django-q2 schedules; sheshi.jobs creates them, operators may pause or edit one",
    "django_q.success": "django-q2 task results; deleting old ones is housekeeping",
    "django_q.failure": "django-q2 failed tasks; deleting or retrying them is the runner's own tool",
    "django_q.ormq": "django-q2's ORM broker queue; only in deployments that use the ORM broker",
    # django-axes: deleting an access attempt is how an operator unlocks a locked-out login.
    "axes.accessattempt": "deleting an attempt is axes' documented way to unlock a login",
    "axes.accesslog": "axes' login log; read-only in axes except deletion for retention",
    "axes.accessfailurelog": "axes' failure log; read-only in axes except deletion for retention",
    # django-otp: a user's TOTP device (enrolment, removal on a lost phone) belongs to the factor itself.
    "otp_totp.totpdevice": "TOTP second-factor devices: enrolment and removal are django-otp's own pages",
}

# Where writes live: services modules, and the older write modules that predate the naming.
PROJECT_PACKAGES = ("audit", "consolidation", "ledger", "periods", "sheshi")


def _registered():
    for site in list(all_sites):
        for model, model_admin in site._registry.items():
            yield site, model, model_admin


def _project(model) -> bool:
    return model.__module__.split(".")[0] in PROJECT_PACKAGES


def _key(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


@pytest.fixture
def request_as_superuser():
    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.create_superuser("walker", "walker@example.test", "x")
    return request


FRAMEWORK_MODULES = ("django.", "simple_history.", "guardian.")


def _overridden(model_admin, name: str) -> bool:
    """``name`` is defined by the admin's own classes, not by Django, simple-history or guardian."""
    for cls in type(model_admin).__mro__:
        if name in vars(cls):
            return not cls.__module__.startswith(FRAMEWORK_MODULES)
    return False


def _paths(model_admin, request) -> dict[str, bool]:
    inline_writes = any(i.has_add_permission(request, None) or i.has_change_permission(request, None)
                        or i.has_delete_permission(request, None)
                        for i in model_admin.get_inline_instances(request, None))
    return {"add": model_admin.has_add_permission(request),
            "change": model_admin.has_change_permission(request, None),
            "delete": model_admin.has_delete_permission(request, None),
            "inlines": inline_writes}


def _service(dotted: str):
    module_name, _, name = dotted.rpartition(".")
    # Writes live in a ``services`` module or a ``services/`` package of an app, nowhere else (#20).
    assert "services" in module_name.split("."), f"{dotted}: not in a services module"
    fn = getattr(importlib.import_module(module_name), name, None)
    assert callable(fn), f"{dotted}: no such callable"
    return fn


def _admin_sources(model_admin) -> str:
    """The admin class, and the admin modules its module takes functions from (ledger.admin_journal)."""
    module = sys.modules[type(model_admin).__module__]
    sources = [inspect.getsource(type(model_admin))]
    for value in vars(module).values():
        owner = sys.modules.get(getattr(value, "__module__", "") or "")
        if inspect.isfunction(value) and owner not in (None, module) and "admin" in owner.__name__ \
                and owner.__name__.split(".")[0] in PROJECT_PACKAGES:
            sources.append(inspect.getsource(owner))
    return "\n".join(sources)


def _calls(source: str, fn) -> bool:
    """``fn`` is called or handed to call_service, not only named in a string."""
    return re.search(rf"[(\s.]{re.escape(fn.__name__)}[(,]", source) is not None


def test_the_walk_sees_the_project_admins():
    keys = {_key(model) for _, model, _ in _registered()}
    assert {"consolidation.consolidationgroup", "consolidation.fxrate", "consolidation.acquisitionadjustment",
            "ledger.account", "ledger.journalentry", "tenancy.entity"} <= keys


def write_problems(entries, request) -> list[str]:
    """Each admin that can add, change or delete (or save an inline) without a named service."""
    problems = []
    for site, model, model_admin in entries:
        if not _project(model):
            continue
        name = f"{site.name}:{_key(model)} ({type(model_admin).__name__})"
        paths = _paths(model_admin, request)
        named = model_admin.__dict__.get("writes_through", getattr(type(model_admin), "writes_through", ()))
        named = (named,) if isinstance(named, str) else tuple(named)
        if not named:
            open_paths = [p for p, allowed in paths.items() if allowed]
            if open_paths:
                problems.append(f"{name}: can {', '.join(open_paths)} without a service (no writes_through)")
            continue
        sources = _admin_sources(model_admin)
        for dotted in named:
            fn = _service(dotted)
            if not _calls(sources, fn):
                problems.append(f"{name}: names {dotted} but never calls it")
        if paths["add"] and not (_overridden(model_admin, "save_model") or _overridden(model_admin, "add_view")):
            problems.append(f"{name}: adds with Django's own save_model")
        if paths["change"] and not (_overridden(model_admin, "save_model") or _overridden(model_admin, "change_view")):
            problems.append(f"{name}: changes with Django's own save_model")
        if paths["inlines"] and not _overridden(model_admin, "save_related"):
            problems.append(f"{name}: saves its inlines with Django's own save_related")
        if paths["delete"] and not (_overridden(model_admin, "delete_model")
                                    and _overridden(model_admin, "delete_queryset")):
            problems.append(f"{name}: deletes with Django's own delete_model/delete_queryset")
    return problems


def test_every_project_admin_is_read_only_or_writes_through_named_services(request_as_superuser):
    """A superuser's request: whatever the page lets a superuser do is the most it lets anyone do."""
    problems = write_problems(_registered(), request_as_superuser)
    assert problems == [], "\n".join(problems)


def test_no_history_page_can_revert(request_as_superuser):
    """simple-history's revert saves the old version straight to the table, and its POST is let
    through for anyone who may view the page: every project history admin refuses it."""
    problems = [f"{_key(model)} ({type(ma).__name__})" for _, model, ma in _registered()
                if isinstance(ma, SimpleHistoryAdmin)
                and not (isinstance(ma, NoRevertHistoryMixin) and ma.revert_disabled(request_as_superuser))]
    assert problems == []


def test_framework_admins_that_write_are_the_reasoned_few(request_as_superuser):
    writing = sorted(_key(model) for _, model, ma in _registered()
                     if not _project(model) and any(_paths(ma, request_as_superuser).values()))
    # Equal, not merely contained: an entry for an admin that no longer writes is taken off the list.
    assert writing == sorted(FRAMEWORK_ALLOWED)


def test_the_walk_reports_a_plain_model_admin_and_an_unnamed_service(request_as_superuser):
    """The check itself: a plain ModelAdmin on a project model, and an admin naming a service it
    never calls, are both reported."""
    from ledger.models import Account, LocalAccountMapping

    class Pretends(admin.ModelAdmin):
        writes_through = "ledger.imports.services.source_system_create"

        def save_model(self, request, obj, form, change):
            obj.save()

    site = admin.AdminSite(name="probe")
    try:
        site.register(Account, admin.ModelAdmin)
        site.register(LocalAccountMapping, Pretends)
        problems = write_problems([(site, m, ma) for m, ma in site._registry.items()], request_as_superuser)
    finally:
        all_sites.discard(site)
    assert problems == [
        "probe:ledger.account (ModelAdmin): can add, change, delete without a service (no writes_through)",
        "probe:ledger.localaccountmapping (Pretends): names ledger.imports.services.source_system_create but "
        "never calls it",
        "probe:ledger.localaccountmapping (Pretends): deletes with Django's own delete_model/delete_queryset"]


def test_reverting_from_history_is_refused_and_nothing_changes(client):
    from tests.factories import EntityFactory

    entity = EntityFactory(name="Before")
    entity.name = "After"
    entity.save()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.test", "x"))
    oldest = entity.history.order_by("history_id").first().history_id
    url = f"/admin/tenancy/entity/{entity.pk}/history/{oldest}/"
    assert "Revert" not in client.get(url).content.decode()
    assert client.post(url, {}).status_code == 403
    entity.refresh_from_db()
    assert (entity.name, entity.history.count()) == ("After", 2)


def test_api_tokens_are_revoked_by_the_action_through_the_service(client):
    from sheshi.access.services.tokens import api_token_issue

    user = get_user_model().objects.create_superuser("root", "root@example.test", "x")
    token, _ = api_token_issue(user=user, name="ci", scopes=["read"])
    client.force_login(user)
    assert client.post(f"/admin/access/apitoken/{token.pk}/change/", {"name": "x"}).status_code == 403
    response = client.post("/admin/access/apitoken/", {"action": "revoke", "_selected_action": [token.pk]},
                           follow=True)
    assert [str(m) for m in response.context["messages"]] == ["1 token(s) revoked."]
    token.refresh_from_db()
    assert (token.name, token.revoked_at is not None) == ("ci", True)
