"""Deployment checks (``manage.py check --deploy``) for Sheshi's own secure defaults."""
from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from sheshi.security.crypto import FieldKeyError, cipher, field_keys


@register(Tags.security, deploy=True)
def security_deploy_checks(app_configs, **kwargs):
    problems = []
    if not field_keys():
        problems.append(Error("SHESHI_FIELD_KEYS is not set: encrypted fields (bank details, tax ids) cannot work.",
                              hint="Generate one with `manage.py rotate_field_keys --generate`.", id="sheshi.E001"))
    else:
        try:
            cipher()
        except FieldKeyError as exc:
            problems.append(Error(str(exc), id="sheshi.E002"))
    if "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE and \
            "sheshi.security.csp.SheshiCSPMiddleware" not in settings.MIDDLEWARE:
        problems.append(Warning("No Content-Security-Policy middleware.", id="sheshi.W001"))
    if not getattr(settings, "AXES_ENABLED", True):
        problems.append(Warning("Login lockout (django-axes) is disabled.", id="sheshi.W002"))
    if settings.REST_FRAMEWORK.get("NUM_PROXIES") is None:
        problems.append(Warning("REST_FRAMEWORK['NUM_PROXIES'] is unset: throttling trusts X-Forwarded-For.",
                                id="sheshi.W003"))
    if not getattr(settings, "SHESHI_TRUSTED_PROXIES", None):
        problems.append(Warning(
            "SHESHI_TRUSTED_PROXIES is empty: behind a reverse proxy every client has the proxy's address, so "
            "login lockout and throttling key on the proxy.",
            hint="Behind the nginx of deploy/ set SHESHI_TRUSTED_PROXIES=127.0.0.1,::1 (SECURITY.md).",
            id="sheshi.W004"))
    if getattr(settings, "SHESHI_UNSAFE_SKIP_APP_VALIDATION", False):
        problems.append(Warning(
            "SHESHI_UNSAFE_SKIP_APP_VALIDATION is on: the ledger services skip their own checks (dates, periods, "
            "balance, segregation of duties) and leave every refusal to PostgreSQL; it exists for the reliability "
            "tests only.", hint="Remove SHESHI_UNSAFE_SKIP_APP_VALIDATION from the environment.", id="sheshi.W005"))
    return problems


@register(Tags.security)
def trusted_proxies_check(app_configs, **kwargs):
    """A malformed SHESHI_TRUSTED_PROXIES entry stops start-up rather than trusting nothing or everything."""
    for entry in getattr(settings, "SHESHI_TRUSTED_PROXIES", None) or ():
        try:
            ipaddress.ip_network(str(entry).strip(), strict=False)
        except ValueError:
            return [Error(f"SHESHI_TRUSTED_PROXIES: {entry!r} is not an IP address or network.", id="sheshi.E005")]
    return []
