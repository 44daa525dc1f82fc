"""Where the ledger keeps Idempotency-Keys of its own: on journal entries and on integration
batches (written in the posting's transaction), per organisation and creator. Registered with
sheshi/api/idempotency.py (from LedgerConfig.ready, so every process knows both scopes whether or
not it loaded the API's views) so a key first used for one create endpoint is refused on any other."""
from __future__ import annotations

from django.db.models import CharField, QuerySet, Value
from django.db.models.functions import Cast, Concat

from ledger.models import JournalEntry, JournalEntryBatch
from sheshi.api.idempotency import idempotency_scope_register
from sheshi.tenancy.models import Membership

ENTRIES_SCOPE = "journal-entries"
BATCHES_SCOPE = "journal-entries/batch"


def _uses(model, what: str, user: int, key: str, exclude_organisation_id: int | None) -> QuerySet:
    # Through the caller's organisations, so the (organisation, created_by, key) unique index serves it.
    rows = model.objects.filter(organisation_id__in=Membership.objects.filter(user=user).values("organisation_id"),
                                created_by=user, idempotency_key=key)
    if exclude_organisation_id is not None:
        rows = rows.exclude(organisation_id=exclude_organisation_id)
    return rows.values_list(Concat(Value(what + " "), Cast("pk", CharField()), Value(")"),
                                   output_field=CharField()), "created_at")


def ledger_idempotency_scopes_register() -> None:
    idempotency_scope_register(ENTRIES_SCOPE, lambda user, key, org: _uses(
        JournalEntry, "POST /api/v1/journal-entries/ (entry", user, key, org))
    idempotency_scope_register(BATCHES_SCOPE, lambda user, key, org: _uses(
        JournalEntryBatch, "POST /api/v1/journal-entries/batch/ (batch", user, key, org))
