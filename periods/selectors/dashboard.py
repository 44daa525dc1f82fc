"""The close dashboard's figures: entities × periods of one fiscal year, each cell with its state
and what is left to do — unposted entries, unfinished checklist tasks, reconciliations not
signed off or lapsed, and intercompany differences of the latest consolidation run.

Set-based: one grouped query per figure over every cell at once, whatever the grid's size.
Scoped by the caller: only entities the user may view are read."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Q

from periods.books import books
from periods.ic_sources import ic_open_counts
from periods.models import (
    AccountReconciliation,
    ChecklistTask,
    EntityPeriod,
    FiscalYear,
    Period,
    PeriodState,
    ReconciliationStatus,
)
from periods.selectors.close import UNFINISHED_TASK, reconciliation_list
from sheshi.access.roles import CLOSE, VIEW
from sheshi.tenancy.models import Entity, Organisation
from sheshi.tenancy.scoping import entity_ids_for


@dataclass
class Cell:
    entity_period: EntityPeriod
    unposted: int = 0
    open_tasks: int = 0
    reconciliations: int = 0  # not signed off (prepared and reviewed) or lapsed
    ic_differences: int = 0

    @property
    def may_soft_close(self) -> bool:
        return self.entity_period.state == PeriodState.OPEN

    @property
    def may_lock(self) -> bool:
        return self.entity_period.state != PeriodState.LOCKED


@dataclass
class Row:
    entity: Entity
    may_close: bool
    cells: list[Cell | None] = field(default_factory=list)


@dataclass
class Dashboard:
    organisation: Organisation | None
    fiscal_year: FiscalYear | None
    periods: list[Period]
    rows: list[Row]


def close_dashboard_get(*, user, organisation: Organisation | None, fiscal_year: FiscalYear | None) -> Dashboard:
    """The grid for ``fiscal_year`` of ``organisation``, limited to the entities ``user`` may view.
    ``may_close`` says where the user may soft-close or lock (the services check again)."""
    if organisation is None or fiscal_year is None:
        return Dashboard(organisation, fiscal_year, [], [])
    periods = list(fiscal_year.periods.order_by("number"))
    visible = entity_ids_for(user, VIEW)
    eps = list(EntityPeriod.objects.filter(organisation=organisation, period__in=periods, entity_id__in=visible)
               .select_related("entity", "period"))
    cells = {ep.pk: Cell(ep) for ep in eps}
    ep_ids, entity_ids, period_ids = list(cells), sorted({ep.entity_id for ep in eps}), [p.pk for p in periods]
    by_pair = {(ep.entity_id, ep.period_id): cells[ep.pk] for ep in eps}

    for pair, n in books().unposted_counts(entity_ids=entity_ids, period_ids=period_ids).items():
        by_pair[pair].unposted = n
    for ep_id, n in (ChecklistTask.objects.filter(UNFINISHED_TASK, entity_period_id__in=ep_ids)
                     .values_list("entity_period_id").annotate(n=Count("id")).values_list("entity_period_id", "n")):
        cells[ep_id].open_tasks = n
    # The lapse is computed per row (closing-balance subqueries); one query fetches every row's verdict.
    attention = Counter(reconciliation_list(AccountReconciliation.objects.filter(entity_period_id__in=ep_ids))
                        .filter(~Q(status=ReconciliationStatus.REVIEWED) | Q(lapsed=True))
                        .values_list("entity_period_id", flat=True))
    for ep_id, n in attention.items():
        cells[ep_id].reconciliations = n
    # The intercompany worklist (assigned, explained, resolved by people), not the last run's raw figures.
    for pair, n in ic_open_counts(organisation_id=organisation.pk, entity_ids=entity_ids,
                                  period_ids=period_ids).items():
        if pair in by_pair:
            by_pair[pair].ic_differences = n

    may_close = set(entity_ids_for(user, CLOSE))
    entities = sorted({ep.entity for ep in eps}, key=lambda e: e.code)
    rows = [Row(e, e.pk in may_close, [by_pair.get((e.pk, p.pk)) for p in periods]) for e in entities]
    return Dashboard(organisation, fiscal_year, periods, rows)
