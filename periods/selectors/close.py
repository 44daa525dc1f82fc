"""Reads for periods and the close: set-based, scoped by the caller (API/admin) before use."""
from __future__ import annotations

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from periods.books import books
from periods.models import (
    AccountReconciliation,
    ChecklistTask,
    EntityPeriod,
    ReconciliationStatus,
    ReconcilingItem,
    TaskStatus,
)
from sheshi.money import AMOUNT_DIGITS, AMOUNT_PLACES


def reconciliation_list(qs: QuerySet[AccountReconciliation] | None = None) -> QuerySet[AccountReconciliation]:
    """Reconciliations with their current GL closing balance, the total of their reconciling
    items and ``lapsed``, computed on read.

    Why on read rather than a flag kept by a trigger on ledger_balance: the balances are the
    single source (PostgreSQL maintains them in every posting transaction, whichever path — the
    services, the bulk COPY path or raw SQL — posted), so comparing the pinned figures with them
    at read time cannot disagree with the ledger, whereas a stored flag is a second derived state
    that must itself be kept right (and would add a trigger and row locks to every posting on the
    hot path). The comparison reads the account's balance rows through the balance key index.

    A sign-off lapses when the account's closing balance or the count of posted lines behind it
    differs from what was pinned: the count catches a change that nets to zero, and a posting
    into an earlier open period changes the closing balance as much as one into the period."""
    money = DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    qs = AccountReconciliation.objects.all() if qs is None else qs
    items = (ReconcilingItem.objects.filter(reconciliation_id=OuterRef("pk")).values("reconciliation_id")
             .annotate(v=Sum("amount")).values("v"))
    qs = qs.annotate(
        # Constant SQL from the ledger (ledger/selectors/books.py), no input in it: nothing to inject.
        current_closing_balance=RawSQL(  # noqa: S611  # nosec B611 constant SQL
            books().reconciliation_closing_sql("b.functional_debit - b.functional_credit"), [], output_field=money),
        current_line_count=RawSQL(books().reconciliation_closing_sql("b.line_count"), [],  # noqa: S611  # nosec B611
                                  output_field=BigIntegerField()),
        items_total=Coalesce(Subquery(items), Value(0), output_field=money),
    )
    return qs.annotate(lapsed=Case(
        When(Q(status=ReconciliationStatus.OPEN), then=Value(False)),
        When(Q(pinned_closing_balance=F("current_closing_balance")) & Q(pinned_line_count=F("current_line_count")),
             then=Value(False)),
        default=Value(True), output_field=BooleanField()))


def unexplained_difference(*, gl_balance, statement_balance, items_total):
    """GL balance − statement balance − reconciling items: what nothing explains yet."""
    if gl_balance is None or statement_balance is None:
        return None
    return gl_balance - statement_balance - items_total


UNFINISHED_TASK = ~Q(status=TaskStatus.SIGNED_OFF) & ~Q(status=TaskStatus.DONE, requires_review=False)


def close_blockers(*, entity_period_id: int) -> list[dict]:
    """What stops a period from locking: required tasks not finished (not done, or done but not
    yet signed off where the task asks for review), reconciliations not reviewed, and reviewed
    ones whose balance changed since (lapsed)."""
    blockers: list[dict] = []
    for t in (ChecklistTask.objects.filter(UNFINISHED_TASK, entity_period_id=entity_period_id, required=True)
              .order_by("id")):
        state = "awaiting_sign_off" if t.status == TaskStatus.DONE else t.status
        blockers.append({"kind": "task", "id": t.pk, "title": t.title, "state": state})
    recs = reconciliation_list(AccountReconciliation.objects.filter(entity_period_id=entity_period_id)
                               .select_related("account")).order_by("account__code")
    for r in recs:
        if r.status != ReconciliationStatus.REVIEWED or r.lapsed:
            blockers.append({"kind": "reconciliation", "id": r.pk, "title": f"Reconciliation of {r.account.code}",
                             "state": "lapsed" if r.lapsed else r.status})
    return blockers


_BLOCKER_STATES = {
    ("task", "open"): "is still open", ("task", "in_progress"): "is in progress, not done",
    ("task", "awaiting_sign_off"): "is done but waits for a reviewer's sign-off",
    ("reconciliation", "open"): "is not prepared yet",
    ("reconciliation", "prepared"): "is prepared but not reviewed",
    ("reconciliation", "lapsed"): "has lapsed: the balance changed after it was signed off",
}


def blocker_sentence(blocker: dict) -> str:
    """One sentence a controller reads: which task or reconciliation, and what is missing."""
    what = _BLOCKER_STATES.get((blocker["kind"], blocker["state"]), f"is {blocker['state'].replace('_', ' ')}")
    if blocker["kind"] == "task":
        return f"Close task “{blocker['title']}” {what}."
    if blocker["kind"] == "entry":
        return f"{blocker['title']} is {blocker['state'].replace('_', ' ')}, not posted."
    return f"{blocker['title']} {what}."


def soft_close_warnings(*, entity_period_id: int) -> list[dict]:
    """What soft-closing a period asks the controller to confirm: its unposted entries (drafts,
    submitted, approved; the first 100), then the close blockers (open required tasks, lapsed or
    unreviewed reconciliations)."""
    ep = EntityPeriod.objects.values("entity_id", "period_id").get(pk=entity_period_id)
    entries = books().unposted_entries(entity_id=ep["entity_id"], period_id=ep["period_id"], limit=100)
    warnings = [{"kind": "entry", "id": pk, "title": f"Entry {pk} ({description[:60]})", "state": status}
                for pk, description, status in entries]
    return warnings + close_blockers(entity_period_id=entity_period_id)
