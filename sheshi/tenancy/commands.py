"""Organisation lookup for management commands: one message for an unknown code."""
from __future__ import annotations

from django.core.management.base import CommandError

from sheshi.tenancy.models import Organisation


def organisation_by_code_or_exit(code: str) -> Organisation:
    """The organisation with ``code``; a CommandError (exit 1, one line on stderr) when there is none."""
    org = Organisation.objects.filter(code=code).first()
    if org is None:
        raise CommandError(f"no organisation with code {code!r}")
    return org
