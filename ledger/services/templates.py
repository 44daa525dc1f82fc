"""Journal templates (issue 16): save an entry's lines under a name, start a new draft from them.
The new draft goes through journal_entry_create, so it is checked exactly as one typed in (an
account closed since the template was saved is refused there)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from ledger.errors import TemplateNameTakenError
from ledger.inputs import EntryInput, LineInput
from ledger.models import EntrySource, JournalEntry, JournalLine, JournalTemplate
from ledger.services.entries import journal_entry_create
from sheshi.access.checks import require_entity_perm
from sheshi.access.roles import PREPARE
from sheshi.errors import FieldError, NotFound, ValidationFailed


def _line_data(line: JournalLine) -> dict:
    return {"account_id": line.account_id, "amount": str(line.amount), "currency": line.currency,
            "rate": str(line.rate), "counterparty_id": line.counterparty_id, "dimensions": line.dimensions or {},
            "memo": line.memo}


@transaction.atomic
def journal_template_create(*, actor, entry_id: int, name: str, description: str = "") -> JournalTemplate:
    """Keep entry ``entry_id``'s lines (any status) as the entity's template ``name``."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Name the template.", errors=[FieldError("name", "Required.", code="required")])
    entry = JournalEntry.objects.select_related("entity").filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"Journal entry {entry_id} not found.")
    require_entity_perm(actor, PREPARE, entry.entity)
    if JournalTemplate.objects.filter(entity_id=entry.entity_id, name=name[:100]).exists():
        raise TemplateNameTakenError(f"{entry.entity.code} already has a template named “{name}”.",
                                     errors=[FieldError("name", "Already used.", code="taken", value=name)])
    return JournalTemplate.objects.create(
        organisation_id=entry.organisation_id, entity_id=entry.entity_id, name=name[:100],
        description=(description or entry.description)[:500], reference=entry.reference, source_entry_id=entry.pk,
        lines=[_line_data(ln) for ln in entry.lines.order_by("line_no")], created_by=actor)


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(value)


@transaction.atomic
def journal_entry_create_from_template(*, actor, template_id: int, entry_date: date, description: str = "",
                                       source: str = EntrySource.MANUAL) -> JournalEntry:
    """A new draft with the template's lines, dated ``entry_date`` (its period from the date).
    ``source``: manual for a user's "new entry from template", recurring for a recurrence's draft."""
    template = JournalTemplate.objects.select_related("entity").filter(pk=template_id).first()
    if template is None:
        raise NotFound(f"Journal template {template_id} not found.")
    lines = [LineInput(account_id=ln["account_id"], amount=Decimal(ln["amount"]), currency=ln.get("currency"),
                       rate=_dec(ln.get("rate")), counterparty_id=ln.get("counterparty_id"),
                       dimensions=ln.get("dimensions") or {}, memo=ln.get("memo") or "") for ln in template.lines]
    entry = EntryInput(entry_date=entry_date, description=(description or template.description)[:500],
                       reference=template.reference, lines=lines)
    return journal_entry_create(actor=actor, entity=template.entity, entry=entry, source=source).entry
