"""Deployment checks of the audit app: the signing key of digests and evidence archives."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from audit.services.digest import signing_key


@register(Tags.security, deploy=True)
def audit_signing_key_check(app_configs, **kwargs):
    problems = []
    if not getattr(settings, "SHESHI_AUDIT_SIGNING_KEY", ""):
        problems.append(Error("SHESHI_AUDIT_SIGNING_KEY is not set: audit digests and evidence archives cannot be "
                              "signed (the evidence export answers 503).",
                              hint="Generate one with python3 -c 'import secrets; print(secrets.token_hex(32))' "
                                   "and keep a copy in the escrow (deploy/sheshi.env.example).", id="sheshi.E003"))
    else:
        try:
            signing_key()
        except (ImproperlyConfigured, ValueError) as exc:
            problems.append(Error(f"SHESHI_AUDIT_SIGNING_KEY is not usable: {exc.__class__.__name__}.",
                                  id="sheshi.E004"))
    return problems
