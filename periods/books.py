"""What the close asks of the books, answered by the ledger app.

The ledger sits above periods (every entry belongs to an entity-period and is refused in a locked
one), so periods never imports it: ledger/apps.py registers the answers at start-up. Asking before
anything is registered raises, because a close that cannot see the entries must not pass as a close
with none.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Books(Protocol):
    def unposted_entries(self, *, entity_id: int, period_id: int, limit: int) -> list[tuple[int, str, str]]:
        """(id, description, status) of the entity-period's entries neither posted nor void, oldest first."""

    def unposted_counts(self, *, entity_ids: Iterable[int], period_ids: Iterable[int]) -> dict[tuple[int, int], int]:
        """How many entries are draft, submitted or approved, per (entity id, period id)."""

    def posting_account_ids(self, *, organisation_id: int, account_ids: Iterable[int]) -> set[int]:
        """Those of ``account_ids`` that are posting accounts of the organisation."""

    def account_closing_figures(self, *, entity_id: int, period_id: int, account_id: int) -> tuple:
        """(GL closing balance, posted line count behind it, sha256 over the period's own posted lines) of
        one account at the end of one entity-period, from one snapshot."""

    def reconciliation_closing_sql(self, figure: str) -> str:
        """A scalar subquery adding up ``figure`` over the balance rows behind the closing balance of the
        reconciliation row of the outer query (``periods_accountreconciliation``): constant SQL, no input."""


_registered: list[Books] = []


def books_register(books: Books) -> None:
    _registered[:] = [books]


def books() -> Books:
    if not _registered:
        raise RuntimeError("No books registered: the ledger app is not installed (ledger/apps.py registers them).")
    return _registered[0]
