"""Writes of sensitive entity details: validated, permission-checked, stored encrypted."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from sheshi.access.roles import MANAGE
from sheshi.errors import FieldError, PermissionDenied, ValidationFailed
from sheshi.security.models import EntityBankDetails
from sheshi.security.validation import normalise_iban, normalise_tax_id, validate_bic
from sheshi.tenancy.models import Entity


@transaction.atomic
def entity_bank_details_set(*, actor, entity: Entity, iban: str, tax_id: str = "", bic: str = "",
                            bank_name: str = "", label: str = "main") -> EntityBankDetails:
    """Create or replace an entity's bank details. Needs ``manage_roles`` on the entity (the
    organisation admin): changing where money goes is not a bookkeeping task."""
    if actor is not None and not actor.is_superuser and not actor.has_perm(MANAGE, entity):
        raise PermissionDenied(f"You need 'manage_roles' on entity {entity.code} to change its bank details.")
    errors: list[FieldError] = []
    clean: dict[str, str] = {}
    for name, fn, value in (("iban", normalise_iban, iban), ("bic", validate_bic, bic.upper()),
                            ("tax_id", normalise_tax_id, tax_id)):
        if name == "tax_id" and not value:
            clean[name] = ""
            continue
        try:
            clean[name] = fn(value)
        except ValidationError as exc:
            errors.append(FieldError(name, exc.messages[0], code=exc.code or "invalid"))
    if errors:
        raise ValidationFailed("The bank details are not valid.", errors=errors)
    details, _ = EntityBankDetails.objects.update_or_create(
        entity=entity, label=label,
        defaults={"organisation_id": entity.organisation_id, "bank_name": bank_name, **clean})
    return details
