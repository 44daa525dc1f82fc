"""What waits for the user's approval: the "awaiting my approval" inbox (issue 16)."""
from __future__ import annotations

from django.db.models import QuerySet

from ledger.models import EntryStatus, JournalEntry
from sheshi.access.roles import APPROVE
from sheshi.tenancy.scoping import entity_ids_for

# Submitted entries wait for an approval; approved ones for their posting.
INBOX_STATUSES = (EntryStatus.SUBMITTED, EntryStatus.APPROVED)


def journal_entries_awaiting_approval_list(user) -> QuerySet[JournalEntry]:
    """Submitted and approved entries of the entities where ``user`` may approve, except the ones
    the user prepared (segregation of duties: the services and the database refuse those anyway,
    so they are not offered). Oldest first: the queue is worked from the front."""
    return (JournalEntry.objects.filter(entity_id__in=entity_ids_for(user, APPROVE), status__in=INBOX_STATUSES)
            .exclude(created_by_id=user.pk)
            .select_related("entity", "period", "created_by", "approved_by")
            .order_by("submitted_at", "id"))
