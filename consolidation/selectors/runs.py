"""Reads for consolidation: the engine's inputs for one group and period, set-based from the
ledger's balances (and, for intercompany and investment accounts only, the counterparty split
of posted lines)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection

from consolidation.engine import types as et
from consolidation.models import (
    AcquisitionAdjustment,
    AdjustmentKind,
    ConsolidationGroup,
    ConsolidationMethod,
    ConsolidationRun,
    FxRate,
    GroupMember,
    IcStatus,
    RunStatus,
)
from ledger.models import Account, AccountKind, EntrySource, EntryStatus, JournalEntry
from periods.models import Period
from sheshi.db.replica import report_cursor

# Balance-sheet accounts are cumulative from inception; income and expense run from the start
# of the period's fiscal year (as ledger/selectors/reports.py). Lines with a counterparty are split out for
# intercompany and investment accounts; the rest of each balance has no counterparty. One hash
# aggregate over balances plus the (small) tagged part, so the cost grows linearly with the TBs.
TB_SQL = """
WITH tagged AS MATERIALIZED (
    SELECT l.entity_id, l.account_id, l.counterparty_id, sum(l.functional_amount) AS amount
      FROM ledger_journalline l
      JOIN ledger_journalentry e ON e.id = l.entry_id AND e.status = 'posted'
      JOIN periods_period p ON p.id = l.period_id AND p.organisation_id = %(org)s AND p.end_date <= %(end)s
      JOIN ledger_account a ON a.id = l.account_id
     WHERE l.entity_id = ANY(%(entities)s) AND l.counterparty_id IS NOT NULL
       AND (a.is_intercompany OR a.role = 'investment')
       AND (a.type IN ('asset', 'liability', 'equity') OR p.start_date >= %(fy)s)
     GROUP BY l.entity_id, l.account_id, l.counterparty_id
), figures AS (
    SELECT b.entity_id, b.account_id, NULL::bigint AS counterparty_id,
           b.functional_debit - b.functional_credit AS amount
      FROM ledger_balance b
      JOIN periods_period p ON p.id = b.period_id AND p.organisation_id = %(org)s AND p.end_date <= %(end)s
      JOIN ledger_account a ON a.id = b.account_id
     WHERE b.entity_id = ANY(%(entities)s) AND (a.type IN ('asset', 'liability', 'equity') OR p.start_date >= %(fy)s)
    UNION ALL
    SELECT entity_id, account_id, counterparty_id, amount FROM tagged
    UNION ALL  -- what carries a counterparty leaves the no-counterparty remainder
    SELECT entity_id, account_id, NULL, -amount FROM tagged
)
SELECT entity_id, account_id, counterparty_id, sum(amount)
  FROM figures
 GROUP BY entity_id, account_id, counterparty_id
HAVING sum(amount) <> 0
"""


def group_members_at(*, group: ConsolidationGroup, on: date) -> list[GroupMember]:
    """Holdings valid on ``on`` of fully consolidated members (equity-method members are kept
    by the model but not consolidated line by line)."""
    return list(GroupMember.objects.filter(group=group, valid__contains=on, method=ConsolidationMethod.FULL)
                .select_related("entity", "parent").order_by("entity__code"))


def member_trial_balances(*, organisation_id: int, entity_ids: list[int], period: Period) -> list[tuple]:
    """The members' balances at the period end: the run's heaviest read, on the replica when one has
    replayed everything committed before the read (sheshi/db/replica.py), else on the primary."""
    with report_cursor() as cur:
        cur.execute(TB_SQL, {"org": organisation_id, "end": period.end_date, "entities": entity_ids,
                             "fy": period.fiscal_year.start_date})
        return cur.fetchall()


def engine_inputs_get(*, group: ConsolidationGroup, period: Period) -> et.EngineInputs:
    org = group.organisation
    holdings = group_members_at(group=group, on=period.end_date)
    codes = {h.entity_id: h.entity.code for h in holdings}
    members = tuple(et.Member(code=h.entity.code, functional_currency=h.entity.functional_currency,
                              parent=h.parent.code if h.parent_id else None, ownership_pct=h.ownership_pct,
                              acquired_on=h.acquired_on, name=h.entity.name) for h in holdings)
    accounts_qs = Account.objects.filter(organisation=org, kind=AccountKind.POSTING).select_related("ic_pair")
    account_codes = {}
    accounts = []
    for a in accounts_qs:
        account_codes[a.pk] = a.code
        accounts.append(et.Account(code=a.code, type=et.AccountType(a.type), ic=a.is_intercompany,
                                   role=et.Role(a.role) if a.role else None,
                                   ic_pair=a.ic_pair.code if a.ic_pair_id else None, name=a.name))
    counterparty_codes = dict(org.entities.values_list("id", "code"))
    # 100,000 lines at 50 members: positional arguments, and the sums as psycopg gives them (Decimal
    # already), a third less time than keywords and a Decimal copy of each.
    line = et.TBLine
    lines = tuple(
        line(codes[e], account_codes[a], amount, counterparty_codes.get(cp) if cp else None)
        for e, a, cp, amount in member_trial_balances(organisation_id=org.pk, entity_ids=list(codes), period=period))
    rates = tuple(et.FxRate(from_ccy=r.from_currency, to_ccy=r.to_currency, type=et.RateType(r.rate_type),
                            rate=r.rate, on=r.rate_date)
                  for r in FxRate.objects.filter(organisation=org, rate_date__lte=period.end_date))
    net_assets, pre_pl, urp = [], [], []
    adjustments = (AcquisitionAdjustment.objects.filter(group=group, entity_id__in=list(codes))
                   .select_related("entity", "buyer", "inventory_account", "cogs_account")
                   .prefetch_related("lines__account"))
    for adj in adjustments:
        lines_ = tuple((ln.account.code, ln.amount) for ln in adj.lines.all())
        if adj.kind == AdjustmentKind.NET_ASSETS:
            net_assets.append(et.NetAssetsAtAcquisition(adj.entity.code, lines_))
        elif adj.kind == AdjustmentKind.PRE_ACQUISITION_PL:
            pre_pl.append(et.PreAcquisitionPL(adj.entity.code, lines_))
        elif adj.period_id == period.pk and adj.buyer_id in codes:
            urp.append(et.UnrealisedProfit(adj.entity.code, adj.buyer.code, adj.amount, adj.inventory_account.code,
                                           adj.cogs_account.code))
    return et.EngineInputs(group_currency=org.group_currency, period_end=period.end_date, members=members,
                           accounts=tuple(accounts), lines=lines, rates=rates,
                           adjustments=et.Adjustments(tuple(net_assets), tuple(pre_pl), tuple(urp)),
                           manual_adjustments=manual_adjustments_get(group=group, period=period))


def manual_adjustments_get(*, group: ConsolidationGroup, period: Period) -> tuple[et.ManualAdjustment, ...]:
    """The manual adjustments standing in the group's consolidation ledger for the period: posted
    entries of source 'manual' not reversed (a reversed one and its reversal cancel out)."""
    if group.elimination_entity_id is None:
        return ()
    entries = (JournalEntry.objects.filter(entity_id=group.elimination_entity_id, period=period,
                                           source=EntrySource.MANUAL, status=EntryStatus.POSTED,
                                           reversed_by__isnull=True)
               .prefetch_related("lines__account").order_by("pk"))
    out = []
    for entry in entries:
        by_account: dict[str, Decimal] = {}
        for line in entry.lines.all():
            by_account[line.account.code] = by_account.get(line.account.code, Decimal(0)) + line.functional_amount
        out.append(et.ManualAdjustment(entry=str(entry.pk), description=entry.description,
                                       lines=tuple(sorted((a, v) for a, v in by_account.items() if v))))
    return tuple(out)


def previous_successful_run(*, run: ConsolidationRun) -> ConsolidationRun | None:
    """The run before this one (its id and fingerprint sections; its results, megabytes for a large
    group, are not read)."""
    return (ConsolidationRun.objects.filter(group_id=run.group_id, period_id=run.period_id,
                                            status=RunStatus.SUCCEEDED, id__lt=run.pk)
            .only("id", "fingerprint", "fingerprint_sections").order_by("-id").first())


def ic_open_counts(*, organisation_id: int, entity_ids: list[int], period_ids: list[int]) -> dict[tuple[int, int], int]:
    """Worklist differences not yet resolved, per (entity id, period id), each pair counted for the entity and
    for its counterparty (both have a figure to explain). Registered with periods/ic_sources.py for the close
    dashboard."""
    with connection.cursor() as cur:
        cur.execute("""
            SELECT side.entity_id, d.period_id, count(*)
              FROM consolidation_icdifference d
              CROSS JOIN LATERAL (VALUES (d.entity_id), (d.counterparty_id)) AS side(entity_id)
             WHERE d.organisation_id = %s AND d.status <> %s
               AND side.entity_id = ANY(%s) AND d.period_id = ANY(%s)
             GROUP BY side.entity_id, d.period_id""", [organisation_id, IcStatus.RESOLVED, entity_ids, period_ids])
        return {(entity_id, period_id): n for entity_id, period_id, n in cur.fetchall()}
