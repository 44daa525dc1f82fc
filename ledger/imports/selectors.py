"""Import reads: batches, and the drill-down from a trial-balance figure to its source rows."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from ledger.imports.models import ImportBatch
from ledger.models import Account, JournalLine
from periods.models import Period

BS_TYPES = ("asset", "liability", "equity")


@dataclass(frozen=True)
class SourceLine:
    """One posted line and the file row it came from."""

    line_id: int
    entry_id: int
    line_no: int
    period_id: int
    amount: Decimal
    currency: str
    functional_amount: Decimal
    memo: str
    import_batch_id: int | None
    file_name: str
    sha256: str
    source_row: int | None
    source_cells: list[str]


def _lines(*, entity_id: int, account_ids, period_ids, currency: str | None) -> QuerySet[JournalLine]:
    qs = JournalLine.objects.filter(entity_id=entity_id, period_id__in=list(period_ids),
                                    account_id__in=list(account_ids), entry__status="posted")
    return qs.filter(currency=currency) if currency else qs


def _source_lines(qs: QuerySet[JournalLine], *, limit: int, after_id: int) -> list[SourceLine]:
    rows = list(qs.filter(id__gt=after_id).order_by("id").values_list(
        "id", "entry_id", "line_no", "period_id", "amount", "currency", "functional_amount", "memo",
        "import_batch_id", "source_row", "source_raw")[:limit])
    batches = {b["id"]: b for b in ImportBatch.objects.filter(
        id__in={r[8] for r in rows if r[8] is not None}).values("id", "file_name", "sha256")}
    out = []
    for line_id, entry_id, line_no, period_id, amount, cur, functional, memo, batch_id, row, raw in rows:
        batch = batches.get(batch_id, {})
        out.append(SourceLine(line_id=line_id, entry_id=entry_id, line_no=line_no, period_id=period_id,
                              amount=amount, currency=cur, functional_amount=functional, memo=memo,
                              import_batch_id=batch_id, file_name=batch.get("file_name", ""),
                              sha256=batch.get("sha256", ""), source_row=row,
                              source_cells=json.loads(raw) if raw else []))
    return out


def tb_line_source_rows(*, entity_id: int, period_id: int, account_id: int, currency: str | None = None,
                        limit: int = 1000, after_id: int = 0) -> list[SourceLine]:
    """The lines behind one period's movement on an account (entity, period, account[, currency]),
    each with its batch and source file row. Keyset-paginated by line id (``after_id``)."""
    qs = _lines(entity_id=entity_id, account_ids=[account_id], period_ids=[period_id], currency=currency)
    return _source_lines(qs, limit=limit, after_id=after_id)


@dataclass(frozen=True)
class TbFigure:
    """The scope of one trial-balance figure: (accounts, periods) pairs its lines come from,
    and their sum, which equals the figure's net in the trial balance."""

    entity_id: int
    parts: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]
    currency: str | None
    functional_total: Decimal
    line_count: int

    def lines(self) -> QuerySet[JournalLine]:
        cond = Q(pk__in=[])
        for account_ids, period_ids in self.parts:
            cond |= Q(account_id__in=account_ids, period_id__in=period_ids)
        qs = JournalLine.objects.filter(cond, entity_id=self.entity_id, entry__status="posted")
        return qs.filter(currency=self.currency) if self.currency else qs


def tb_figure_get(*, entity_id: int, account: Account, period: Period, period_from: Period | None = None,
                  currency: str | None = None) -> TbFigure:
    """The lines a trial-balance figure is made of, by the report's period rule (ledger/selectors/reports.py):
    balance-sheet accounts from inception (or ``period_from``), income and expense from the fiscal
    year's start (or ``period_from``), through ``period``. A group account covers every account
    beneath it."""
    org = account.organisation_id
    tree = list(Account.objects.filter(organisation_id=org).values_list("id", "parent_id", "type"))
    children: dict[int | None, list[int]] = {}
    for acc_id, parent_id, _type in tree:
        children.setdefault(parent_id, []).append(acc_id)
    scope, stack = [], [account.pk]
    while stack:
        acc_id = stack.pop()
        scope.append(acc_id)
        stack.extend(children.get(acc_id, []))
    types = {acc_id: t for acc_id, _p, t in tree}
    periods = Period.objects.filter(organisation_id=org, end_date__lte=period.end_date)
    bs_from = period_from.start_date if period_from else None
    pl_from = period_from.start_date if period_from else period.fiscal_year.start_date
    bs_periods = tuple((periods.filter(start_date__gte=bs_from) if bs_from else periods).values_list("id", flat=True))
    pl_periods = tuple(periods.filter(start_date__gte=pl_from).values_list("id", flat=True))
    parts = tuple((ids, pids) for ids, pids in (
        (tuple(sorted(a for a in scope if types[a] in BS_TYPES)), bs_periods),
        (tuple(sorted(a for a in scope if types[a] not in BS_TYPES)), pl_periods)) if ids)
    figure = TbFigure(entity_id=entity_id, parts=parts, currency=currency, functional_total=Decimal(0), line_count=0)
    agg = figure.lines().aggregate(total=Sum("functional_amount"), n=Count("id"))
    return replace(figure, functional_total=agg["total"] or Decimal(0), line_count=agg["n"])


def tb_figure_source_rows(*, figure: TbFigure, limit: int = 1000, after_id: int = 0) -> list[SourceLine]:
    """The lines of a trial-balance figure with their source rows, keyset-paginated by line id."""
    return _source_lines(figure.lines(), limit=limit, after_id=after_id)
