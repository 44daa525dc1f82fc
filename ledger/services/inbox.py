"""Bulk posting from the approver's inbox (issue 16): several entries posted all or none.

Each entry goes through ``journal_entry_post`` (its own checks, locks and the database's rules),
inside a savepoint so that one refusal does not hide the next: every refusal is collected, then,
if there was any, the whole transaction is rolled back. All or none because a posting batch is
usually one close step (an accrual run, a set of adjustments): half of it in the books is a state
nobody asked for, and the confirmation page says exactly which entries would be posted."""
from __future__ import annotations

from collections.abc import Sequence

from django.db import DatabaseError, transaction

from audit.services.events import audit_event_record
from ledger.errors import BulkPostRefusedError
from ledger.models import JournalEntry
from ledger.services.entries import journal_entry_post
from sheshi.errors import FieldError, NotFound, PermissionDenied, SheshiError, ValidationFailed, from_db_error

MAX_BULK_ENTRIES = 500


def _reason(exc: Exception) -> str:
    if isinstance(exc, SheshiError):
        return exc.detail
    mapped = from_db_error(exc)
    return mapped.detail if mapped is not None else "The database refused the posting."


@transaction.atomic
def journal_entries_post_all(*, actor, entry_ids: Sequence[int]) -> list[JournalEntry]:
    """Post every entry of ``entry_ids`` (in id order, the ledger's lock order) or none of them.
    Refused with BulkPostRefusedError naming each entry that cannot be posted and why."""
    ids = sorted(set(entry_ids))
    if not ids or len(ids) > MAX_BULK_ENTRIES:
        raise ValidationFailed(f"Choose between 1 and {MAX_BULK_ENTRIES} entries to post.", errors=[FieldError(
            "entries", f"Between 1 and {MAX_BULK_ENTRIES} entries.", code="out_of_range", value=len(ids))])
    posted: list[JournalEntry] = []
    refusals: list[tuple[int, Exception]] = []
    for entry_id in ids:
        try:
            with transaction.atomic():  # a savepoint: a refusal leaves the others' postings in place
                posted.append(journal_entry_post(actor=actor, entry_id=entry_id))
        except (PermissionDenied, NotFound):
            raise  # the caller's, not the entry's: answered as such (403/404), nothing posted
        except (SheshiError, DatabaseError) as exc:
            refusals.append((entry_id, exc))
    if refusals:
        error = BulkPostRefusedError(
            f"{len(refusals)} of {len(ids)} entries cannot be posted, so none was posted.",
            errors=[FieldError(f"entries[{entry_id}]", _reason(exc), code=getattr(exc, "code", "refused"),
                               value=entry_id) for entry_id, exc in refusals])
        error.refusals = refusals
        raise error
    for org_id in sorted({e.organisation_id for e in posted}):
        audit_event_record(organisation_id=org_id, action="journal_entries.posted_together",
                           object_type="ledger.journalentry", object_id=None,
                           changes={"entry_ids": [e.pk for e in posted if e.organisation_id == org_id]})
    return posted
