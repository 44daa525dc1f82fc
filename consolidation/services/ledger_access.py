"""Who sees the group's consolidation (elimination) ledger and who adjusts it.

The ledger is an entity of the organisation, so its access is the ordinary role-grant model
(guardian object permissions through sheshi.access.services.grants.role_grant, audited): nobody holds
anything on it until granted.

- *View* its journals (translation, eliminations, rounding, manual adjustments): VIEW on the ledger
  (viewer, auditor, controller roles).
- *Prepare* a manual consolidation adjustment: VIEW and PREPARE on the ledger (preparer, controller).
  It is a draft journal entry of the ledger, approved and posted through the ledger's ordinary
  services (segregation of duties applies: the preparer never posts it); once posted, the next
  run of the period reads it into the consolidated TB (consolidation/selectors/runs.py).

A run's own journals are system entries: the run needs no grant, and a manual adjustment is never
reversed by a run.
"""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from consolidation.models import ConsolidationGroup
from consolidation.services.posting import elimination_ledger_ensure
from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, EntrySource, JournalEntry
from ledger.services.entries import journal_entry_create
from periods.models import Period
from sheshi.access.checks import require_entity_perm
from sheshi.access.roles import PREPARE, VIEW, Role
from sheshi.access.services.grants import role_grant
from sheshi.errors import FieldError, ValidationFailed

LEDGER_ROLES = frozenset({Role.VIEWER, Role.AUDITOR, Role.PREPARER, Role.APPROVER, Role.CONTROLLER})


@transaction.atomic
def consolidation_ledger_role_grant(*, actor, group: ConsolidationGroup, user, role: Role | str) -> None:
    """Grant ``role`` on the group's consolidation ledger (created on first use). Only who may
    manage roles on the ledger may (an organisation admin; role_grant checks and audits)."""
    role = Role(role)
    if role not in LEDGER_ROLES:
        raise ValidationFailed(f"Role {role} cannot be granted on a consolidation ledger.",
                               errors=[FieldError(field="role", message="not a ledger role", code="invalid")])
    role_grant(actor=actor, user=user, entity=elimination_ledger_ensure(group_id=group.pk), role=role)


def consolidation_journals_list(*, actor, group: ConsolidationGroup, period: Period) -> list[JournalEntry]:
    """The journals of the group's consolidation ledger in ``period`` (system and manual); needs
    VIEW on the ledger."""
    if group.elimination_entity_id is None:
        return []
    require_entity_perm(actor, VIEW, group.elimination_entity)
    return list(JournalEntry.objects.filter(entity_id=group.elimination_entity_id, period=period)
                .select_related("entity").order_by("pk"))


@transaction.atomic
def consolidation_adjustment_prepare(*, actor, group: ConsolidationGroup, period: Period,
                                     lines: list[tuple[Account, Decimal]], description: str) -> JournalEntry:
    """A draft manual adjustment in the group's consolidation ledger, in the group currency, dated
    on the period end. Refused - nothing written - unless the actor holds VIEW and PREPARE there."""
    ledger = group.elimination_entity
    if ledger is None:
        raise ValidationFailed(f"Group {group.code} has no consolidation ledger yet: run a consolidation first.")
    require_entity_perm(actor, VIEW, ledger)
    require_entity_perm(actor, PREPARE, ledger)
    foreign = [a.code for a, _ in lines if a.organisation_id != group.organisation_id]
    if foreign:
        raise ValidationFailed("Accounts of another organisation.",
                               errors=[FieldError(field="lines", message=f"unknown account {c}", code="invalid")
                                       for c in foreign])
    entry = EntryInput(entry_date=period.end_date, period_id=period.pk, description=description,
                       lines=[LineInput(account_id=a.pk, amount=amount, dimensions={"elimination": "manual"})
                              for a, amount in lines])
    return journal_entry_create(actor=actor, entity=ledger, entry=entry, source=EntrySource.MANUAL).entry
