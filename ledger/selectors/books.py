"""The ledger's answers to the close's questions (periods/books.py), registered in ledger/apps.py."""
from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count

from ledger.models import Account, AccountKind, EntryStatus, JournalEntry

OPEN_ENTRY_STATUSES = (EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.APPROVED)


class LedgerBooks:
    def unposted_entries(self, *, entity_id: int, period_id: int, limit: int) -> list[tuple[int, str, str]]:
        return list(JournalEntry.objects.filter(entity_id=entity_id, period_id=period_id)
                    .exclude(status__in=[EntryStatus.POSTED, EntryStatus.VOID]).order_by("id")
                    .values_list("pk", "description", "status")[:limit])

    def unposted_counts(self, *, entity_ids: Iterable[int], period_ids: Iterable[int]) -> dict[tuple[int, int], int]:
        return {(entity_id, period_id): n for entity_id, period_id, n in (
            JournalEntry.objects.filter(entity_id__in=list(entity_ids), period_id__in=list(period_ids),
                                        status__in=OPEN_ENTRY_STATUSES)
            .values_list("entity_id", "period_id").annotate(n=Count("id")).values_list("entity_id", "period_id", "n"))}

    def posting_account_ids(self, *, organisation_id: int, account_ids: Iterable[int]) -> set[int]:
        return set(Account.objects.filter(pk__in=list(account_ids), organisation_id=organisation_id,
                                          kind=AccountKind.POSTING).values_list("pk", flat=True))
