"""Reports as set-based SQL over the maintained balances (and lines only for detail).

Balance-sheet accounts (asset, liability, equity) are cumulative from the first period through
the reporting period; income and expense accounts run from the start of the reporting period's
fiscal year. Every report says whether it reconciles: a trial balance sums to zero, and the
balance sheet balances once current-year earnings are added to equity.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ledger.selectors.lock_snapshots import snapshot_hash
from periods.models import Period
from sheshi.db.replica import report_cursor
from sheshi.tenancy.models import Entity

BS_TYPES = ("asset", "liability", "equity")
PL_TYPES = ("revenue", "expense")


@dataclass
class ReportRow:
    account_id: int
    code: str
    name: str
    type: str
    kind: str
    depth: int
    parent_id: int | None
    debit: Decimal
    credit: Decimal

    @property
    def net(self) -> Decimal:
        return self.debit - self.credit


@dataclass
class TrialBalance:
    entity: Entity
    period: Period
    period_from: Period | None
    as_of: date | None
    rows: list[ReportRow] = field(default_factory=list)
    total_debit: Decimal = Decimal(0)
    total_credit: Decimal = Decimal(0)

    @property
    def reconciles(self) -> bool:
        return self.total_debit == self.total_credit


# Posting-account figures for one entity: balances of whole periods, plus (for an as-of date)
# the posted lines of the last period up to that date. Parameters: entity, organisation,
# start date for P&L, start date for BS (None = inception), end period end, as_of.
_LEAF_SQL = """
WITH scope AS (
    SELECT p.id, p.start_date, p.end_date FROM periods_period p
     WHERE p.organisation_id = %(org)s AND p.end_date <= %(to_end)s AND p.start_date >= %(bs_from)s
       AND (%(as_of)s::date IS NULL OR p.end_date < %(as_of)s::date OR p.start_date > %(as_of)s::date)
),
figures AS (
    SELECT b.account_id, b.functional_debit AS d, b.functional_credit AS c, p.start_date
      FROM ledger_balance b JOIN scope p ON p.id = b.period_id
     WHERE b.entity_id = %(entity)s
    UNION ALL
    SELECT l.account_id, greatest(l.functional_amount, 0), greatest(-l.functional_amount, 0), p.start_date
      FROM ledger_journalline l
      JOIN ledger_journalentry e ON e.id = l.entry_id AND e.status = 'posted'
      JOIN periods_period p ON p.id = l.period_id
     WHERE %(as_of)s::date IS NOT NULL AND l.entity_id = %(entity)s
       AND p.start_date <= %(as_of)s::date AND p.end_date >= %(as_of)s::date AND e.entry_date <= %(as_of)s::date
)
SELECT f.account_id, sum(f.d), sum(f.c)
  FROM figures f JOIN ledger_account a ON a.id = f.account_id
 WHERE a.type IN ('asset', 'liability', 'equity') OR f.start_date >= %(pl_from)s
 GROUP BY f.account_id
"""

_TREE_SQL = """
WITH RECURSIVE tree AS (
    SELECT id, parent_id, code, name, type, kind, 0 AS depth, ARRAY[code]::text[] AS path
      FROM ledger_account WHERE organisation_id = %(org)s AND parent_id IS NULL
    UNION ALL
    SELECT a.id, a.parent_id, a.code, a.name, a.type, a.kind, t.depth + 1, t.path || a.code::text
      FROM ledger_account a JOIN tree t ON a.parent_id = t.id
)
SELECT id, parent_id, code, name, type, kind, depth FROM tree ORDER BY path
"""


def _fetch(sql: str, params: dict) -> list[tuple]:
    """Report reads: on the replica when one is configured and has replayed the caller's writes."""
    with report_cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def trial_balance(*, entity: Entity, period: Period, period_from: Period | None = None,
                  as_of: date | None = None, include_zero: bool = False) -> TrialBalance:
    """Trial balance of one entity, rolled up by the current account tree (a moved account
    rolls up under its new parent; stored figures never move)."""
    fy_start = period.fiscal_year.start_date
    params = {
        "org": entity.organisation_id, "entity": entity.pk, "to_end": period.end_date,
        "bs_from": period_from.start_date if period_from else date.min,
        "pl_from": period_from.start_date if period_from else fy_start,
        "as_of": as_of,
    }
    if as_of is not None:
        params["to_end"] = max(period.end_date, as_of)
    leaves = {acc: (d, c) for acc, d, c in _fetch(_LEAF_SQL, params)}
    tree = _fetch(_TREE_SQL, {"org": entity.organisation_id})
    rows = [ReportRow(account_id=i, parent_id=p, code=code, name=name, type=t, kind=k, depth=depth,
                      debit=leaves.get(i, (Decimal(0), Decimal(0)))[0],
                      credit=leaves.get(i, (Decimal(0), Decimal(0)))[1])
            for i, p, code, name, t, k, depth in tree]
    by_id = {r.account_id: r for r in rows}
    # Roll leaves up to every ancestor (the tree is small next to the data: thousands of nodes).
    for r in rows:
        if r.kind == "posting" and (r.debit or r.credit):
            parent = by_id.get(r.parent_id)
            while parent is not None:
                parent.debit += r.debit
                parent.credit += r.credit
                parent = by_id.get(parent.parent_id)
    tb = TrialBalance(entity=entity, period=period, period_from=period_from, as_of=as_of)
    tb.rows = [r for r in rows if include_zero or r.debit or r.credit]
    tb.total_debit = sum((r.debit for r in rows if r.kind == "posting"), Decimal(0))
    tb.total_credit = sum((r.credit for r in rows if r.kind == "posting"), Decimal(0))
    return tb


@dataclass
class Statement:
    """Balance sheet or income statement: sections by account type, with totals."""

    title: str
    sections: dict[str, list[ReportRow]]
    totals: dict[str, Decimal]
    reconciles: bool


def _natural(row: ReportRow) -> Decimal:
    """Amount in the account type's natural sign (assets/expenses debit-positive, others credit)."""
    return row.net if row.type in ("asset", "expense") else -row.net


def income_statement(*, entity: Entity, period: Period, period_from: Period | None = None) -> Statement:
    tb = trial_balance(entity=entity, period=period, period_from=period_from)
    sections = {t: [r for r in tb.rows if r.type == t] for t in PL_TYPES}
    revenue = sum((_natural(r) for r in sections["revenue"] if r.kind == "posting"), Decimal(0))
    expense = sum((_natural(r) for r in sections["expense"] if r.kind == "posting"), Decimal(0))
    return Statement("Income statement", sections,
                     {"revenue": revenue, "expense": expense, "net_income": revenue - expense}, True)


def balance_sheet(*, entity: Entity, period: Period) -> Statement:
    tb = trial_balance(entity=entity, period=period)
    sections = {t: [r for r in tb.rows if r.type == t] for t in BS_TYPES}
    totals = {t: sum((_natural(r) for r in sections[t] if r.kind == "posting"), Decimal(0)) for t in BS_TYPES}
    earnings = sum((-r.net for r in tb.rows if r.type in PL_TYPES and r.kind == "posting"), Decimal(0))
    totals["current_year_earnings"] = earnings
    totals["equity_and_liabilities"] = totals["liability"] + totals["equity"] + earnings
    return Statement("Balance sheet", sections, totals, totals["asset"] == totals["equity_and_liabilities"])


def general_ledger(*, entity: Entity, account_id: int, period_from: Period, period_to: Period,
                   limit: int = 1000, offset: int = 0) -> dict:
    """Posted lines of one account with a running balance, after the opening balance."""
    opening = _fetch("""
        SELECT coalesce(sum(b.functional_debit - b.functional_credit), 0)
          FROM ledger_balance b JOIN periods_period p ON p.id = b.period_id
          JOIN ledger_account a ON a.id = b.account_id
         WHERE b.entity_id = %(entity)s AND b.account_id = %(account)s AND p.end_date < %(from)s
           AND (a.type IN ('asset', 'liability', 'equity') OR p.start_date >= %(fy)s)""",
                     {"entity": entity.pk, "account": account_id, "from": period_from.start_date,
                      "fy": period_from.fiscal_year.start_date})[0][0]
    lines = _fetch("""
        SELECT l.id, e.id, e.entry_date, p.code, e.description, e.source, l.line_no, l.currency, l.amount,
               l.functional_amount, l.memo, l.counterparty_id, l.import_batch_id, l.source_row,
               %(opening)s + sum(l.functional_amount) OVER (ORDER BY e.entry_date, e.id, l.line_no)
          FROM ledger_journalline l
          JOIN ledger_journalentry e ON e.id = l.entry_id AND e.status = 'posted'
          JOIN periods_period p ON p.id = l.period_id
         WHERE l.entity_id = %(entity)s AND l.account_id = %(account)s
           AND p.start_date >= %(from)s AND p.end_date <= %(to)s
         ORDER BY e.entry_date, e.id, l.line_no
         LIMIT %(limit)s OFFSET %(offset)s""",
                   {"entity": entity.pk, "account": account_id, "from": period_from.start_date,
                    "to": period_to.end_date, "opening": opening, "limit": limit, "offset": offset})
    keys = ("line_id", "entry_id", "entry_date", "period", "description", "source", "line_no", "currency", "amount",
            "functional_amount", "memo", "counterparty_id", "import_batch_id", "source_row", "running_balance")
    return {"opening_balance": opening, "lines": [dict(zip(keys, r, strict=True)) for r in lines]}


def balances_verify(*, organisation_id: int | None = None) -> list[tuple]:
    """Recompute balances from posted lines and return every difference (there must be none)."""
    return _fetch("""
        WITH lines AS (
            SELECT l.organisation_id, l.entity_id, l.account_id, l.period_id, l.currency, sum(l.amount) AS amount,
                   sum(greatest(l.functional_amount, 0)) AS d, sum(greatest(-l.functional_amount, 0)) AS c,
                   count(*) AS n
              FROM ledger_journalline l JOIN ledger_journalentry e ON e.id = l.entry_id AND e.status = 'posted'
             WHERE %(org)s::bigint IS NULL OR l.organisation_id = %(org)s::bigint
             GROUP BY 1, 2, 3, 4, 5),
        stored AS (SELECT * FROM ledger_balance WHERE %(org)s::bigint IS NULL OR organisation_id = %(org)s::bigint)
        SELECT coalesce(lines.entity_id, s.entity_id), coalesce(lines.account_id, s.account_id),
               coalesce(lines.period_id, s.period_id), coalesce(lines.currency, s.currency),
               lines.d, s.functional_debit, lines.c, s.functional_credit, lines.n, s.line_count
          FROM lines FULL JOIN stored s USING (entity_id, account_id, period_id, currency)
         WHERE lines.amount IS DISTINCT FROM s.amount OR lines.d IS DISTINCT FROM s.functional_debit
            OR lines.c IS DISTINCT FROM s.functional_credit OR lines.n IS DISTINCT FROM s.line_count
         ORDER BY 1, 2, 3, 4""", {"org": organisation_id})


@dataclass(frozen=True)
class LockProblem:
    entity: str
    period: str
    problem: str


def locks_verify(*, organisation_id: int | None = None) -> tuple[int, list[LockProblem]]:
    """Every locked entity-period: its trial balance now (ledger_trial_balance_digest, the same
    function the lock used) against the snapshot of the lock in force; and each snapshot's stored
    rows against its stored hash (rows edited behind the trigger). Returns (checked, problems)."""
    found = _fetch("""
        SELECT e.code, p.code, s.id, s.sha256, s.trial_balance, s.line_count, d.sha256, d.line_count
          FROM periods_entityperiod ep
          JOIN tenancy_entity e ON e.id = ep.entity_id
          JOIN periods_period p ON p.id = ep.period_id
          LEFT JOIN LATERAL (SELECT * FROM periods_periodlocksnapshot s WHERE s.entity_period_id = ep.id
                              ORDER BY s.id DESC LIMIT 1) s ON true
          CROSS JOIN LATERAL ledger_trial_balance_digest(ep.entity_id, ep.period_id) d
         WHERE ep.state = 'locked' AND (%(org)s::bigint IS NULL OR ep.organisation_id = %(org)s)
         ORDER BY e.code, p.start_date""", {"org": organisation_id})
    problems = []
    for entity, period, snap_id, stored, rows, stored_lines, now, now_lines in found:
        if snap_id is None:
            problems.append(LockProblem(entity, period, "locked without a lock snapshot"))
            continue
        rows = json.loads(rows) if isinstance(rows, str) else rows
        if snapshot_hash(rows) != stored:
            problems.append(LockProblem(entity, period, f"snapshot {snap_id}'s rows no longer hash to its sha256 "
                                                        f"{stored[:12]}: the snapshot was edited"))
        if now != stored:
            problems.append(LockProblem(entity, period, f"trial balance now hashes {now[:12]} over {now_lines} lines, "
                                                        f"the lock recorded {stored[:12]} over {stored_lines}"))
    return len(found), problems
