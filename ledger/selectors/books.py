"""The ledger's answers to the close's questions (periods/books.py), registered in ledger/apps.py."""
from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Count

from ledger.models import Account, AccountKind, EntryStatus, JournalEntry

OPEN_ENTRY_STATUSES = (EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.APPROVED)


# The account's balance rows that make up its closing balance at the reconciled period's end, as
# the trial balance adds them up (ledger/selectors/reports.py): balance-sheet accounts from the first period
# on, income and expense accounts from the start of the period's fiscal year. Correlated with the
# reconciliation row of the outer query (ledger_balance has no foreign keys for the ORM to follow).
RECONCILIATION_CLOSING_SQL = """
SELECT coalesce(sum({expr}), 0)
  FROM ledger_balance b
  JOIN periods_period bp ON bp.id = b.period_id
  JOIN ledger_account a ON a.id = b.account_id
  JOIN periods_entityperiod rep ON rep.id = periods_accountreconciliation.entity_period_id
  JOIN periods_period rp ON rp.id = rep.period_id
  JOIN periods_fiscalyear fy ON fy.id = rp.fiscal_year_id
 WHERE b.entity_id = rep.entity_id AND b.account_id = periods_accountreconciliation.account_id
   AND bp.end_date <= rp.end_date
   AND (a.type IN ('asset', 'liability', 'equity') OR bp.start_date >= fy.start_date)"""


def account_closing_figures(*, entity_id: int, period_id: int, account_id: int) -> tuple:
    """(GL closing balance, posted line count behind it, sha256 over the period's own posted
    lines) of one account at the end of one entity-period, read in one statement so all three
    come from the same snapshot. The closing balance adds up the balance rows the trial balance
    does (RECONCILIATION_CLOSING_SQL); the hash covers each line's id, currency, amount and functional
    amount, in id order."""
    with connection.cursor() as cur:
        cur.execute("""
            WITH p AS (SELECT p.start_date, p.end_date, fy.start_date AS fy_start
                         FROM periods_period p JOIN periods_fiscalyear fy ON fy.id = p.fiscal_year_id
                        WHERE p.id = %(p)s),
                 closing AS (
                   SELECT b.functional_debit - b.functional_credit AS net, b.line_count
                     FROM ledger_balance b
                     JOIN ledger_account a ON a.id = b.account_id
                     JOIN periods_period bp ON bp.id = b.period_id, p
                    WHERE b.entity_id = %(e)s AND b.account_id = %(a)s AND bp.end_date <= p.end_date
                      AND (a.type IN ('asset', 'liability', 'equity') OR bp.start_date >= p.fy_start))
            SELECT (SELECT coalesce(sum(net), 0) FROM closing),
                   (SELECT coalesce(sum(line_count), 0) FROM closing),
                   (SELECT encode(sha256(convert_to(coalesce(string_agg(
                              l.id::text || ':' || l.currency || ':' || l.amount::text
                              || ':' || l.functional_amount::text,
                              E'\\n' ORDER BY l.id), ''), 'UTF8')), 'hex')
                      FROM ledger_journalline l JOIN ledger_journalentry je ON je.id = l.entry_id
                     WHERE l.entity_id = %(e)s AND l.period_id = %(p)s AND l.account_id = %(a)s
                       AND je.status = 'posted')""", {"e": entity_id, "p": period_id, "a": account_id})
        return cur.fetchone()


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

    def account_closing_figures(self, *, entity_id: int, period_id: int, account_id: int) -> tuple:
        return account_closing_figures(entity_id=entity_id, period_id=period_id, account_id=account_id)

    def reconciliation_closing_sql(self, figure: str) -> str:
        return RECONCILIATION_CLOSING_SQL.format(expr=figure)
