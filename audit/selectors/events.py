"""Reads of the audit trail, always scoped to one organisation and the caller's audit rights."""
from __future__ import annotations

from datetime import datetime

from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from audit.models import AuditEvent
from sheshi.access.roles import AUDIT
from sheshi.tenancy.models import Entity
from sheshi.tenancy.scoping import entities_for


def audit_entity_ids(user, organisation_id: int) -> tuple[list[int], bool]:
    """The organisation's entities on which ``user`` holds the auditor permission, and whether
    that is every entity of the organisation (a full view of its trail)."""
    audited = sorted(entities_for(user, AUDIT).filter(organisation_id=organisation_id).values_list("pk", flat=True))
    every = set(Entity.objects.filter(organisation_id=organisation_id).values_list("pk", flat=True))
    return audited, bool(audited) and set(audited) == every


def audit_event_list(*, organisation_id: int, entity_ids: list[int], full: bool, object_type: str | None = None,
                     object_id: str | None = None, action: str | None = None, since: datetime | None = None,
                     until: datetime | None = None) -> QuerySet[AuditEvent]:
    """The organisation's events, newest first, each annotated ``content_withheld``.

    The rule is the evidence archive's (audit/evidence/datasets.py, audit_event_rows): an auditor
    of only some entities sees in full the events attributable to one of them (the entity row
    itself, or a row carrying its entity_id / guardian content_object_id); of any other event
    the action, object and time stay visible, the actor and the changes are withheld."""
    qs = AuditEvent.objects.filter(organisation_id=organisation_id)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if action:
        qs = qs.filter(action=action)
    if since:
        qs = qs.filter(occurred_at__gte=since)
    if until:
        qs = qs.filter(occurred_at__lt=until)
    if full:
        return qs.annotate(content_withheld=Value(False, output_field=BooleanField()))
    ids = [str(i) for i in entity_ids]
    ref = Coalesce(KT("changes__after__entity_id"), KT("changes__before__entity_id"),
                   KT("changes__after__content_object_id"), KT("changes__before__content_object_id"))
    attributable = Q(object_type="tenancy.entity", object_id__in=ids) | Q(entity_ref__in=ids)
    return qs.annotate(entity_ref=ref).annotate(content_withheld=Case(
        When(attributable, then=Value(False)), default=Value(True), output_field=BooleanField()))
