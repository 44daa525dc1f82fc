"""Report tables for the admin pages: the trial balance in columns (opening, the range's
movement, closing, and comparison columns) and the general-ledger detail of one account.

Both are set-based SQL: the trial balance reads the maintained ``ledger_balance`` rows and rolls
posting accounts up the current account tree in the same statement; the general ledger reads the
posted lines of one account with its running balance as a window function. Figures follow
``ledger.selectors.reports``: balance-sheet accounts are cumulative from inception, income and expense
accounts from the start of the fiscal year of the range (the same date rules, so the pages and
the API agree).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection

from periods.models import Period
from sheshi.tenancy.models import Entity

ZERO = Decimal(0)


@dataclass(frozen=True)
class Window:
    """A range of periods: its movement runs from ``start`` to ``end``; income and expense
    accounts accumulate from ``fy_start``."""

    first: Period
    last: Period

    @property
    def start(self) -> date:
        return self.first.start_date

    @property
    def end(self) -> date:
        return self.last.end_date

    @property
    def fy_start(self) -> date:
        return self.first.fiscal_year.start_date

    @property
    def label(self) -> str:
        return self.first.code if self.first == self.last else f"{self.first.code} – {self.last.code}"


@dataclass
class TrialBalanceRow:
    account_id: int
    code: str
    name: str
    type: str
    kind: str
    depth: int
    opening: Decimal
    debit: Decimal
    credit: Decimal
    compare: list[tuple[Decimal, Decimal]]  # (movement, closing) per comparison window

    @property
    def closing(self) -> Decimal:
        return self.opening + self.debit - self.credit

    @property
    def is_group(self) -> bool:
        return self.kind != "posting"

    @property
    def is_empty(self) -> bool:
        return not (self.opening or self.debit or self.credit or any(m or c for m, c in self.compare))


@dataclass
class TrialBalanceTable:
    window: Window
    comparisons: list[tuple[str, Window]]  # (title, window)
    rows: list[TrialBalanceRow] = field(default_factory=list)

    def _posting(self):
        return [r for r in self.rows if not r.is_group]

    @property
    def totals(self) -> dict[str, Decimal]:
        """Totals over posting accounts only: group rows repeat their children's figures."""
        posting = self._posting()
        return {"opening": sum((r.opening for r in posting), ZERO), "debit": sum((r.debit for r in posting), ZERO),
                "credit": sum((r.credit for r in posting), ZERO), "closing": sum((r.closing for r in posting), ZERO)}

    @property
    def compare_totals(self) -> list[tuple[Decimal, Decimal]]:
        posting = self._posting()
        return [(sum((r.compare[i][0] for r in posting), ZERO), sum((r.compare[i][1] for r in posting), ZERO))
                for i in range(len(self.comparisons))]

    @property
    def reconciles(self) -> bool:
        t = self.totals
        return t["debit"] == t["credit"] and t["opening"] == 0 and t["closing"] == 0


# One statement: the posting accounts' figures per column from ledger_balance (FILTERed sums),
# then every account's roll-up through a closure of the tree (each posting account counted once
# under each of its ancestors and itself).
_TRIAL_BALANCE_SQL = """
WITH RECURSIVE tree AS (
    SELECT id, code, name, type, kind, 0 AS depth, ARRAY[code]::text[] AS path, ARRAY[id] AS ancestors
      FROM ledger_account WHERE organisation_id = %(org)s AND parent_id IS NULL
    UNION ALL
    SELECT a.id, a.code, a.name, a.type, a.kind, t.depth + 1, t.path || a.code::text, t.ancestors || a.id
      FROM ledger_account a JOIN tree t ON a.parent_id = t.id
),
figures AS (
    SELECT b.account_id, b.functional_debit AS d, b.functional_credit AS c, p.start_date, p.end_date,
           a.type IN ('asset', 'liability', 'equity') AS cumulative
      FROM ledger_balance b
      JOIN periods_period p ON p.id = b.period_id
      JOIN ledger_account a ON a.id = b.account_id
     WHERE b.organisation_id = %(org)s AND b.entity_id = %(entity)s AND p.end_date <= %(max_end)s
),
leaf AS (
    SELECT account_id,
           sum(d - c) FILTER (WHERE end_date < %(start)s AND (cumulative OR start_date >= %(fy)s)) AS opening,
           sum(d) FILTER (WHERE start_date >= %(start)s AND end_date <= %(end)s) AS debit,
           sum(c) FILTER (WHERE start_date >= %(start)s AND end_date <= %(end)s) AS credit,
           sum(d - c) FILTER (WHERE start_date >= %(c1_start)s AND end_date <= %(c1_end)s) AS c1_movement,
           sum(d - c) FILTER (WHERE end_date <= %(c1_end)s AND (cumulative OR start_date >= %(c1_fy)s)) AS c1_closing,
           sum(d - c) FILTER (WHERE start_date >= %(c2_start)s AND end_date <= %(c2_end)s) AS c2_movement,
           sum(d - c) FILTER (WHERE end_date <= %(c2_end)s AND (cumulative OR start_date >= %(c2_fy)s)) AS c2_closing
      FROM figures
     GROUP BY account_id
),
rolled AS (
    SELECT c.ancestor_id AS account_id, sum(l.opening) AS opening, sum(l.debit) AS debit, sum(l.credit) AS credit,
           sum(l.c1_movement) AS c1_movement, sum(l.c1_closing) AS c1_closing,
           sum(l.c2_movement) AS c2_movement, sum(l.c2_closing) AS c2_closing
      FROM (SELECT unnest(t.ancestors) AS ancestor_id, t.id AS posting_id FROM tree t WHERE t.kind = 'posting') c
      JOIN leaf l ON l.account_id = c.posting_id
     GROUP BY c.ancestor_id
)
SELECT t.id, t.code, t.name, t.type, t.kind, t.depth,
       coalesce(r.opening, 0), coalesce(r.debit, 0), coalesce(r.credit, 0),
       coalesce(r.c1_movement, 0), coalesce(r.c1_closing, 0), coalesce(r.c2_movement, 0), coalesce(r.c2_closing, 0)
  FROM tree t LEFT JOIN rolled r ON r.account_id = t.id
 ORDER BY t.path
"""


def trial_balance_table(*, entity: Entity, window: Window, comparisons: list[tuple[str, Window]],
                        include_zero: bool = False) -> TrialBalanceTable:
    """The entity's trial balance over ``window`` with up to two comparison windows."""
    if len(comparisons) > 2:
        raise ValueError("at most two comparison columns")
    params = {"org": entity.organisation_id, "entity": entity.pk, "start": window.start, "end": window.end,
              "fy": window.fy_start}
    ends = [window.end]
    for i in (1, 2):
        cmp = comparisons[i - 1][1] if len(comparisons) >= i else None
        # An absent comparison selects nothing: an empty date range.
        params.update({f"c{i}_start": cmp.start if cmp else date.max, f"c{i}_end": cmp.end if cmp else date.min,
                       f"c{i}_fy": cmp.fy_start if cmp else date.max})
        if cmp:
            ends.append(cmp.end)
    params["max_end"] = max(ends)
    with connection.cursor() as cur:
        cur.execute(_TRIAL_BALANCE_SQL, params)
        found = cur.fetchall()
    table = TrialBalanceTable(window=window, comparisons=comparisons)
    for acc, code, name, typ, kind, depth, opening, debit, credit, m1, c1, m2, c2 in found:
        row = TrialBalanceRow(acc, code, name, typ, kind, depth, opening, debit, credit,
                              [(m1, c1), (m2, c2)][:len(comparisons)])
        if include_zero or not row.is_empty:
            table.rows.append(row)
    return table


@dataclass
class LedgerLine:
    line_id: int
    entry_id: int
    entry_date: date
    period: str
    description: str
    memo: str
    currency: str
    amount: Decimal
    debit: Decimal
    credit: Decimal
    balance: Decimal
    import_batch_id: int | None
    import_file: str | None
    source_row: int | None


@dataclass
class LedgerDetail:
    opening: Decimal
    lines: list[LedgerLine]
    total_lines: int

    @property
    def debit(self) -> Decimal:
        return sum((ln.debit for ln in self.lines), ZERO)

    @property
    def credit(self) -> Decimal:
        return sum((ln.credit for ln in self.lines), ZERO)


_LEDGER_SQL = """
WITH opening AS (
    SELECT coalesce(sum(b.functional_debit - b.functional_credit), 0) AS amount
      FROM ledger_balance b
      JOIN periods_period p ON p.id = b.period_id
      JOIN ledger_account a ON a.id = b.account_id
     WHERE b.organisation_id = %(org)s AND b.entity_id = %(entity)s AND b.account_id = %(account)s
       AND p.end_date < %(start)s AND (a.type IN ('asset', 'liability', 'equity') OR p.start_date >= %(fy)s)
),
lines AS (
    SELECT l.id, e.id AS entry_id, e.entry_date, p.code AS period, e.description, l.memo, l.currency, l.amount,
           l.functional_amount, l.line_no, l.import_batch_id, l.source_row,
           count(*) OVER () AS total_lines,
           (SELECT amount FROM opening) + sum(l.functional_amount)
               OVER (ORDER BY e.entry_date, e.id, l.line_no ROWS UNBOUNDED PRECEDING) AS balance
      FROM ledger_journalline l
      JOIN ledger_journalentry e ON e.id = l.entry_id AND e.status = 'posted'
      JOIN periods_period p ON p.id = l.period_id
     WHERE l.organisation_id = %(org)s AND l.entity_id = %(entity)s AND l.account_id = %(account)s
       AND p.start_date >= %(start)s AND p.end_date <= %(end)s
)
SELECT (SELECT amount FROM opening), ln.id, ln.entry_id, ln.entry_date, ln.period, ln.description, ln.memo,
       ln.currency, ln.amount, greatest(ln.functional_amount, 0), greatest(-ln.functional_amount, 0), ln.balance,
       ln.import_batch_id, ib.file_name, ln.source_row, ln.total_lines
  FROM (SELECT 1) one
  LEFT JOIN (SELECT * FROM lines ORDER BY entry_date, entry_id, line_no LIMIT %(limit)s OFFSET %(offset)s) ln
         ON true
  LEFT JOIN ledger_importbatch ib ON ib.id = ln.import_batch_id
 ORDER BY ln.entry_date, ln.entry_id, ln.line_no
"""


def general_ledger_detail(*, entity: Entity, account_id: int, window: Window, limit: int | None = None,
                          offset: int = 0) -> LedgerDetail:
    """Posted lines of one account in ``window`` after its opening balance, each with the running
    balance (over all lines of the window, so a page further on continues the figures)."""
    with connection.cursor() as cur:
        cur.execute(_LEDGER_SQL, {"org": entity.organisation_id, "entity": entity.pk, "account": account_id,
                                  "start": window.start, "end": window.end, "fy": window.fy_start,
                                  "limit": limit, "offset": offset})
        found = cur.fetchall()
    opening = found[0][0]
    lines = [LedgerLine(*row[1:15]) for row in found if row[1] is not None]
    return LedgerDetail(opening=opening, lines=lines, total_lines=found[0][15] or 0 if found else 0)
