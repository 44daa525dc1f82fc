"""Reads for periods and the close: set-based, scoped by the caller (API/admin) before use."""
from __future__ import annotations

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from ledger.models import Balance, EntryStatus, JournalEntry
from periods.models import AccountReconciliation, ChecklistTask, EntityPeriod, ReconciliationStatus, TaskStatus
from sheshi.money import AMOUNT_DIGITS, AMOUNT_PLACES


def entity_period_list(*, entity_ids=None, period_code: str | None = None, state: str | None = None,
                       fiscal_year_id: int | None = None) -> QuerySet[EntityPeriod]:
    qs = EntityPeriod.objects.select_related("entity", "period", "period__fiscal_year")
    if entity_ids is not None:
        qs = qs.filter(entity_id__in=entity_ids)
    if period_code:
        qs = qs.filter(period__code=period_code)
    if state:
        qs = qs.filter(state=state)
    if fiscal_year_id:
        qs = qs.filter(period__fiscal_year_id=fiscal_year_id)
    return qs


def _balance_of_account(expr):
    return Balance.objects.filter(entity_id=OuterRef("entity_period__entity_id"),
                                  period_id=OuterRef("entity_period__period_id"),
                                  account_id=OuterRef("account_id")).values("account_id").annotate(v=expr).values("v")


def reconciliation_list(qs: QuerySet[AccountReconciliation] | None = None) -> QuerySet[AccountReconciliation]:
    """Reconciliations with their current figures and ``lapsed``, computed on read.

    Why on read rather than a flag kept by a trigger on ledger_balance: the balances are the
    single source (PostgreSQL maintains them in every posting transaction, whichever path — the
    services, the bulk COPY path or raw SQL — posted), so comparing the pinned figures with them
    at read time cannot disagree with the ledger, whereas a stored flag is a second derived state
    that must itself be kept right (and would add a trigger and row locks to every posting on the
    hot path). The comparison reads one balance row per currency through the balance key index.

    A sign-off lapses when the account's functional net or its posted-line count for the
    entity-period differs from what was pinned: the count catches a change that nets to zero."""
    money = DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    qs = AccountReconciliation.objects.all() if qs is None else qs
    qs = qs.annotate(
        current_functional_net=Coalesce(Subquery(_balance_of_account(
            Sum(ExpressionWrapper(F("functional_debit") - F("functional_credit"), output_field=money)))),
            Value(0), output_field=money),
        current_line_count=Coalesce(Subquery(_balance_of_account(Sum("line_count"))), Value(0)),
    )
    return qs.annotate(lapsed=Case(
        When(Q(status=ReconciliationStatus.OPEN), then=Value(False)),
        When(Q(pinned_functional_net=F("current_functional_net")) & Q(pinned_line_count=F("current_line_count")),
             then=Value(False)),
        default=Value(True), output_field=BooleanField()))


def close_blockers(*, entity_period_id: int) -> list[dict]:
    """What stops a period from locking: required tasks not done, reconciliations not reviewed,
    and reviewed ones whose balance changed since (lapsed)."""
    blockers: list[dict] = []
    for t in (ChecklistTask.objects.filter(entity_period_id=entity_period_id, required=True)
              .exclude(status=TaskStatus.DONE).order_by("id")):
        blockers.append({"kind": "task", "id": t.pk, "title": t.title, "state": t.status})
    recs = reconciliation_list(AccountReconciliation.objects.filter(entity_period_id=entity_period_id)
                               .select_related("account")).order_by("account__code")
    for r in recs:
        if r.status != ReconciliationStatus.REVIEWED or r.lapsed:
            blockers.append({"kind": "reconciliation", "id": r.pk, "title": f"Reconciliation of {r.account.code}",
                             "state": "lapsed" if r.lapsed else r.status})
    return blockers


def soft_close_warnings(*, entity_period_id: int) -> list[dict]:
    """What soft-closing a period asks the controller to confirm: its unposted entries (drafts,
    submitted, approved; the first 100), then the close blockers (open required tasks, lapsed or
    unreviewed reconciliations)."""
    ep = EntityPeriod.objects.values("entity_id", "period_id").get(pk=entity_period_id)
    entries = (JournalEntry.objects.filter(entity_id=ep["entity_id"], period_id=ep["period_id"])
               .exclude(status__in=[EntryStatus.POSTED, EntryStatus.VOID]).order_by("id")
               .values_list("pk", "description", "status")[:100])
    warnings = [{"kind": "entry", "id": pk, "title": f"Entry {pk} ({description[:60]})", "state": status}
                for pk, description, status in entries]
    return warnings + close_blockers(entity_period_id=entity_period_id)


def account_period_figures(*, entity_id: int, period_id: int, account_id: int) -> tuple:
    """(functional net, posted line count, sha256 over the posted lines) of one account in one
    entity-period, read in one statement so all three come from the same snapshot. The hash
    covers each line's id, currency, amount and functional amount, in id order."""
    with connection.cursor() as cur:
        cur.execute("""
            SELECT (SELECT coalesce(sum(functional_debit - functional_credit), 0) FROM ledger_balance
                     WHERE entity_id = %(e)s AND period_id = %(p)s AND account_id = %(a)s),
                   (SELECT coalesce(sum(line_count), 0) FROM ledger_balance
                     WHERE entity_id = %(e)s AND period_id = %(p)s AND account_id = %(a)s),
                   (SELECT encode(sha256(convert_to(coalesce(string_agg(
                              l.id::text || ':' || l.currency || ':' || l.amount::text
                              || ':' || l.functional_amount::text,
                              E'\\n' ORDER BY l.id), ''), 'UTF8')), 'hex')
                      FROM ledger_journalline l JOIN ledger_journalentry je ON je.id = l.entry_id
                     WHERE l.entity_id = %(e)s AND l.period_id = %(p)s AND l.account_id = %(a)s
                       AND je.status = 'posted')""", {"e": entity_id, "p": period_id, "a": account_id})
        return cur.fetchone()
