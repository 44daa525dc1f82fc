"""Year-end close: move the year's income and expense into retained earnings.

The closing entry is a system entry (source ``closing``) in the year's adjustment period 13, or
in its last period when the year has no 13th. It has one line per income or expense account
with a non-zero functional balance for the year — all currencies of the account combined into
its functional net — reversing that net, and one line to the organisation's retained-earnings
account (role ``retained_earnings``) for the total. Lines are in the functional currency,
ordered by account code, so the same balances always give the same entry: closing again after a
reopen (which reverses the previous closing entry in the same period, netting it out of the
balances) reproduces it exactly.

Carrying balances into the next year: reports compute balance-sheet figures cumulatively from
inception and income/expense year-to-date. The next year's opening balances are therefore the
cumulative balances through this closing entry — retained earnings already include the year's
result, and income/expense start the new year at nothing because year-to-date starts there. No
separate opening entry is posted: it would count the brought-forward balances twice.

To be reproducible the year's figures must hold still: the year's regular periods must be
soft-closed or locked, nothing may be unposted in the year, and the year's entity-period rows are
held FOR NO KEY UPDATE while the entry is computed and posted, so no posting can slip in meanwhile."""
from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction

from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, AccountKind, AccountRole, EntrySource, EntryStatus, JournalEntry
from ledger.services.entries import journal_entry_create_and_post, journal_entry_reverse_posted
from periods import locks as period_locks
from periods.errors import ReasonRequiredError, UnpostedEntriesError, YearEndError
from periods.models import EntityPeriod, FiscalYear, Period, PeriodState
from sheshi.access.checks import require_entity_perm
from sheshi.access.roles import CLOSE, REOPEN
from sheshi.errors import FieldError, NotFound
from sheshi.tenancy.models import Entity


def closing_period(fiscal_year: FiscalYear) -> Period:
    """Period 13 when the year has one, otherwise its last regular period."""
    return fiscal_year.periods.order_by("-number").first()


def closing_entry_get(*, entity: Entity, fiscal_year: FiscalYear) -> JournalEntry | None:
    """The year's standing closing entry (posted and not reversed), if any."""
    return (JournalEntry.objects.filter(entity=entity, period__fiscal_year=fiscal_year, source=EntrySource.CLOSING,
                                        status=EntryStatus.POSTED, reversed_by__isnull=True)
            .order_by("-id").first())


def retained_earnings_account(organisation_id: int) -> Account:
    accounts = list(Account.objects.filter(organisation_id=organisation_id, role=AccountRole.RETAINED_EARNINGS,
                                           kind=AccountKind.POSTING, is_active=True))
    if len(accounts) != 1:
        raise YearEndError(f"The organisation needs exactly one active posting account with role "
                           f"'retained_earnings'; it has {len(accounts)}.", code="retained_earnings_account")
    return accounts[0]


def closing_lines(*, entity: Entity, fiscal_year: FiscalYear, retained_earnings: Account) -> list[LineInput]:
    """The closing entry's lines, computed set-based from the balance table."""
    with connection.cursor() as cur:
        cur.execute("""
            SELECT a.id, a.code, sum(b.functional_debit - b.functional_credit) AS net
              FROM ledger_balance b
              JOIN ledger_account a ON a.id = b.account_id
              JOIN periods_period p ON p.id = b.period_id
             WHERE b.entity_id = %s AND p.fiscal_year_id = %s AND a.type IN ('revenue', 'expense')
             GROUP BY a.id, a.code
            HAVING sum(b.functional_debit - b.functional_credit) <> 0
             ORDER BY a.code""", [entity.pk, fiscal_year.pk])
        rows = cur.fetchall()
    lines = [LineInput(account_id=acc_id, amount=-net, currency=entity.functional_currency,
                       memo=f"Close {code} to retained earnings") for acc_id, code, net in rows]
    result = sum((net for _, _, net in rows), Decimal(0))
    if result != 0:
        lines.append(LineInput(account_id=retained_earnings.pk, amount=result, currency=entity.functional_currency,
                               memo=f"Result of {fiscal_year.code}"))
    return lines


def _hold_year(entity: Entity, fiscal_year: FiscalYear) -> list[EntityPeriod]:
    """FOR NO KEY UPDATE on the entity's periods of the year, in id order: no posting into the year
    can commit while the closing entry is computed and posted (postings need FOR SHARE on them)."""
    return list(period_locks.entity_periods_for_update().select_related("period")
                .filter(entity=entity, period__fiscal_year=fiscal_year).order_by("id"))


@transaction.atomic
def year_end_close(*, actor, entity: Entity, fiscal_year: FiscalYear) -> JournalEntry:
    require_entity_perm(actor, CLOSE, entity)
    if fiscal_year.organisation_id != entity.organisation_id:
        raise NotFound(f"Fiscal year {fiscal_year.code} is not in entity {entity.code}'s organisation.")
    eps = _hold_year(entity, fiscal_year)
    target = closing_period(fiscal_year)
    still_open = [ep.period.code for ep in eps if ep.period.number <= 12 and ep.state == PeriodState.OPEN]
    if still_open:
        raise YearEndError(f"Close the year's periods first: {', '.join(still_open)} still open for {entity.code}.",
                           code="periods_still_open",
                           errors=[FieldError("periods", f"{c} is open.", code="open", value=c) for c in still_open])
    target_state = next((ep.state for ep in eps if ep.period_id == target.pk), None)
    if target_state == PeriodState.LOCKED:
        raise YearEndError(f"Period {target.code} of {entity.code} is locked: reopen it to post the closing entry.",
                           code="period_locked")
    existing = closing_entry_get(entity=entity, fiscal_year=fiscal_year)
    if existing is not None:
        raise YearEndError(f"{fiscal_year.code} is already closed for {entity.code} (entry {existing.pk}); "
                           "reopen the year first.", code="year_already_closed")
    unposted = list(JournalEntry.objects.filter(entity=entity, period__fiscal_year=fiscal_year)
                    .exclude(status__in=[EntryStatus.POSTED, EntryStatus.VOID]).order_by("id")
                    .values_list("pk", "period__code")[:100])
    if unposted:
        raise UnpostedEntriesError(
            f"{len(unposted)} unposted entries remain in {fiscal_year.code} for {entity.code}: post or void them.",
            errors=[FieldError("entries", f"Entry {pk} ({code}) is not posted.", code="unposted", value=pk)
                    for pk, code in unposted])
    lines = closing_lines(entity=entity, fiscal_year=fiscal_year,
                          retained_earnings=retained_earnings_account(entity.organisation_id))
    if not lines:
        raise YearEndError(f"{entity.code} has no income or expense balance in {fiscal_year.code}: nothing to close.",
                           code="nothing_to_close")
    entry = EntryInput(entry_date=target.end_date, period_id=target.pk, lines=lines,
                       description=f"Year-end close {fiscal_year.code}: income and expense to retained earnings")
    return journal_entry_create_and_post(actor=actor, entity=entity, entry=entry, source=EntrySource.CLOSING).entry


@transaction.atomic
def year_end_reopen(*, actor, entity: Entity, fiscal_year: FiscalYear, reason: str) -> JournalEntry:
    """Reopen the year: reverse the standing closing entry (a reversal in the same period)."""
    if not reason or not reason.strip():
        raise ReasonRequiredError("Reopening a year needs a written reason.",
                                  errors=[FieldError("reason", "Required.", code="required")])
    require_entity_perm(actor, REOPEN, entity)
    _hold_year(entity, fiscal_year)
    existing = closing_entry_get(entity=entity, fiscal_year=fiscal_year)
    if existing is None:
        raise YearEndError(f"{fiscal_year.code} is not closed for {entity.code}.", code="year_not_closed")
    state = EntityPeriod.objects.filter(entity=entity, period_id=existing.period_id).values_list("state", flat=True)[0]
    if state == PeriodState.LOCKED:
        raise YearEndError(f"Period {existing.period.code} of {entity.code} is locked: reopen it first "
                           "(reopen_period), then reopen the year.", code="period_locked")
    description = f"Year reopened ({reason.strip()}): reversal of entry {existing.pk}"[:500]
    return journal_entry_reverse_posted(actor=actor, entry_id=existing.pk, entry_date=existing.entry_date,
                                        period_id=existing.period_id, description=description)
