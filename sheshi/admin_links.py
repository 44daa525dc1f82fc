"""Pages of the admin that are not a model's list (the close dashboard, reports), shown on the
admin index and in the side menu under their app. An app registers a link from its admin module;
the site (sheshi/security/admin_site.py) adds the links the user may open to the app list."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class AdminLink:
    app_label: str
    name: str
    url_name: str
    allowed: Callable  # (request) -> bool


LINKS: list[AdminLink] = []


def admin_link_register(*, app_label: str, name: str, url_name: str, allowed: Callable) -> None:
    if not any(link.url_name == url_name for link in LINKS):
        LINKS.append(AdminLink(app_label, name, url_name, allowed))


def add_links(request, app_list: list[dict]) -> list[dict]:
    by_label = {app["app_label"]: app for app in app_list}
    for link in LINKS:
        app = by_label.get(link.app_label)
        if app is None or not link.allowed(request):
            continue
        app["models"].insert(0, {"name": link.name, "object_name": link.url_name, "perms": {"view": True},
                                 "admin_url": reverse(f"admin:{link.url_name}"), "add_url": None,
                                 "view_only": True})
    return app_list
