"""Organisation lookup shared by the audit commands (code → id; "platform" is chain 0)."""
from __future__ import annotations

from django.core.management.base import CommandError

from audit.models import ORG_PLATFORM, PLATFORM_CODE
from sheshi.tenancy.models import Organisation

__all__ = ["PLATFORM_CODE", "organisation_code_for", "organisation_id_for"]


def organisation_id_for(code: str) -> int:
    if code == PLATFORM_CODE:
        return ORG_PLATFORM
    org_id = Organisation.objects.filter(code=code).values_list("id", flat=True).first()
    if org_id is None:
        raise CommandError(f"no organisation with code {code!r}")
    return org_id


def organisation_code_for(organisation_id: int) -> str:
    if organisation_id == ORG_PLATFORM:
        return PLATFORM_CODE
    code = Organisation.objects.filter(pk=organisation_id).values_list("code", flat=True).first()
    return code or f"#{organisation_id}"
