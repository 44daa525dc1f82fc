"""The admin's report pages (issue #16 item 4): trial balance, general-ledger detail, income
statement and balance sheet, each with CSV and XLSX exports.

Every page reads only entities the user may view (guardian, ``VIEW``): asking for another one is
a 403, on the page and on its exports alike. Each read (and each export) is an audit event, as in
the API. Figures come from set-based SQL (``ledger.selectors.report_tables``) or the API's own selectors
(``ledger.selectors.reports`` for the statements).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from audit.services.events import audit_read
from ledger.models import Account, AccountKind
from ledger.selectors import reports
from ledger.selectors.report_tables import Window, general_ledger_detail, trial_balance_table
from periods.models import EntityPeriod, Period, PeriodState
from sheshi.access.roles import VIEW
from sheshi.report_files import GROUP, LINE, OPENING, POSTING, ReportFile, report_response
from sheshi.tenancy.models import Entity
from sheshi.tenancy.scoping import entities_for

EXPORTS = ("csv", "xlsx")
GL_PAGE_SIZE = 500
COMPARISONS = {"prior": "Prior period", "last_year": "Same period last year"}
STATE_LABELS = dict(PeriodState.choices)
TYPE_LABELS = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity", "revenue": "Revenue",
               "expense": "Expenses"}


@dataclass
class Selection:
    """What a report page was asked for, checked against what the user may see."""

    entities: list[Entity]
    entity: Entity | None
    periods: list[Period]
    period: Period | None
    period_from: Period | None
    states: dict[int, str]  # period id → the entity's state label

    @property
    def window(self) -> Window | None:
        return Window(self.period_from, self.period) if self.period else None

    @property
    def currency(self) -> str:
        return self.entity.functional_currency if self.entity else ""

    def state_of(self, period: Period) -> str:
        return self.states.get(period.pk, "not set up")

    def range_periods(self, window: Window | None = None) -> list[Period]:
        w = window or self.window
        return [p for p in self.periods if w and p.start_date >= w.start and p.end_date <= w.end]

    def window_state(self, window: Window | None = None) -> str:
        """One state for a single period; for a range, each period's."""
        periods = self.range_periods(window)
        if len(periods) == 1:
            return self.state_of(periods[0])
        return ", ".join(f"{p.code} {self.state_of(p).lower()}" for p in periods)

    def query(self, **extra) -> str:
        params = {"entity": self.entity.code, "period_from": self.period_from.code, "period": self.period.code}
        return urlencode({**params, **extra}, doseq=True)


def select(request) -> Selection:
    """Entity and period range from the query string. An entity the user may not view is a 403
    (the same answer whether it exists or not); an unknown or reversed period range is a message."""
    entities = list(entities_for(request.user, VIEW).select_related("organisation").order_by("organisation_id",
                                                                                               "code"))
    code = request.GET.get("entity")
    entity = next((e for e in entities if e.code == code), None) if code else None
    if code and entity is None:
        raise PermissionDenied
    if entity is None:
        return Selection(entities, None, [], None, None, {})
    periods = list(Period.objects.filter(organisation_id=entity.organisation_id).select_related("fiscal_year")
                   .order_by("start_date", "number"))
    states = {pid: STATE_LABELS.get(s, s) for pid, s in
              EntityPeriod.objects.filter(entity=entity).values_list("period_id", "state")}
    by_code = {p.code: p for p in periods}
    period = by_code.get(request.GET.get("period", ""))
    period_from = by_code.get(request.GET.get("period_from", "")) or period
    for name in ("period", "period_from"):
        if request.GET.get(name) and request.GET[name] not in by_code:
            messages.error(request, f"There is no period {request.GET[name]} in {entity.organisation.code}'s calendar.")
    if period and period_from and (period_from.start_date, period_from.number) > (period.start_date, period.number):
        messages.error(request, f"The range starts ({period_from.code}) after it ends ({period.code}).")
        period = None
    elif period and period_from and period_from.fiscal_year_id != period.fiscal_year_id:
        messages.error(request, "A range stays within one fiscal year (income and expenses restart each year).")
        period = None
    return Selection(entities, entity, periods, period, period_from if period else None, states)


def comparison_windows(sel: Selection, wanted: list[str]) -> list[tuple[str, Window]]:
    """Prior period: as many periods as the range, right before it. Same period last year: the
    periods with the same numbers in the fiscal year before. Absent ones are skipped."""
    found = []
    periods, window = sel.periods, sel.window
    first, last = periods.index(window.first), periods.index(window.last)
    for key in wanted:
        if key == "prior" and first - (last - first + 1) >= 0:
            n = last - first + 1
            found.append((COMPARISONS[key], Window(periods[first - n], periods[first - 1])))
        elif key == "last_year":
            earlier = [p for p in periods if p.fiscal_year.end_date < window.fy_start]
            fy = earlier[-1].fiscal_year_id if earlier else None
            same = {p.number: p for p in earlier if p.fiscal_year_id == fy}
            if window.first.number in same and window.last.number in same:
                found.append((COMPARISONS[key], Window(same[window.first.number], same[window.last.number])))
    return found


def header_block(request, sel: Selection, window: Window | None = None) -> list[tuple[str, object]]:
    w = window or sel.window
    user = request.user
    return [("Organisation", f"{sel.entity.organisation.code} – {sel.entity.organisation.name}"),
            ("Entity", f"{sel.entity.code} – {sel.entity.name}"),
            ("Period", w.label), ("Period state", sel.window_state(w)),
            ("Currency", sel.currency),
            ("Generated at", timezone.localtime().strftime("%Y-%m-%d %H:%M:%S %Z")),
            ("Generated by", user.get_full_name() or user.get_username())]


def record_read(request, sel: Selection, report: str, object_id: str) -> None:
    """Who read which figures, and who exported them, goes into the audit log (as in the API)."""
    action = "report.exported" if request.GET.get("export") in EXPORTS else "report.read"
    audit_read(request, organisation_id=sel.entity.organisation_id, object_type=f"report.{report}",
               object_id=object_id, action=action)


def render(modeladmin, request, template: str, title: str, sel: Selection, **context):
    for p in sel.periods:
        p.entity_state = sel.state_of(p)
    base = {**modeladmin.admin_site.each_context(request), "title": title, "opts": modeladmin.model._meta,
            "sel": sel, "currency": sel.currency, "exports": EXPORTS}
    return TemplateResponse(request, f"admin/ledger/reports/{template}", {**base, **context})


def gl_url(sel: Selection, code: str, window: Window | None = None) -> str:
    w = window or sel.window
    return reverse("admin:ledger_general_ledger") + "?" + urlencode(
        {"entity": sel.entity.code, "account": code, "period_from": w.first.code, "period": w.last.code})


# ---- trial balance --------------------------------------------------------------------------------

def trial_balance_view(modeladmin, request):
    sel = select(request)
    wanted = [c for c in request.GET.getlist("compare") if c in COMPARISONS]
    table = None
    if sel.window:
        comparisons = comparison_windows(sel, wanted)
        table = trial_balance_table(entity=sel.entity, window=sel.window, comparisons=comparisons)
        record_read(request, sel, "trial_balance", f"{sel.entity.code}/{sel.window.label}")
        for row in table.rows:
            row.gl_url = gl_url(sel, row.code) if not row.is_group else ""
        kind = request.GET.get("export")
        if kind in EXPORTS:
            return report_response(kind, trial_balance_file(request, sel, table))
    return render(modeladmin, request, "trial_balance.html", "Trial balance", sel, table=table, wanted=wanted,
                  comparisons=COMPARISONS.items(),
                  compare_states=[(t, sel.window_state(w)) for t, w in table.comparisons] if table else [],
                  export_query=sel.query(compare=wanted) if table else "")


def trial_balance_file(request, sel: Selection, table) -> ReportFile:
    columns = ["Code", "Name", "Type", "Level", "Opening", "Debit", "Credit", "Closing"]
    for title, w in table.comparisons:
        columns += [f"{title} ({w.label}) movement", f"{title} ({w.label}) closing"]
    totals = table.totals
    report = ReportFile(
        filename=f"trial-balance-{sel.entity.code}-{sel.window.label.replace(' – ', '-to-')}", title="Trial balance",
        currency=sel.currency, header=header_block(request, sel), columns=columns,
        totals=[("Total opening", totals["opening"]), ("Total debit", totals["debit"]),
                ("Total credit", totals["credit"]), ("Total closing", totals["closing"])])
    for (title, w), (movement, closing) in zip(table.comparisons, table.compare_totals, strict=True):
        report.header.append((f"{title}", f"{w.label} ({sel.window_state(w).lower()})"))
        report.totals += [(f"{title} total movement", movement), (f"{title} total closing", closing)]
    for r in table.rows:
        values = [r.code, r.name, TYPE_LABELS[r.type], r.depth, r.opening, r.debit, r.credit, r.closing]
        for movement, closing in r.compare:
            values += [movement, closing]
        report.rows.append((GROUP if r.is_group else POSTING, values))
    return report


# ---- general ledger -------------------------------------------------------------------------------

def general_ledger_view(modeladmin, request):
    sel = select(request)
    accounts = list(Account.objects.filter(organisation_id=sel.entity.organisation_id, kind=AccountKind.POSTING)
                    .order_by("code")) if sel.entity else []
    code = request.GET.get("account", "")
    account = next((a for a in accounts if a.code == code), None)
    if code and sel.entity and account is None:
        messages.error(request, f"There is no posting account {code} in {sel.entity.organisation.code}'s chart.")
    detail, page, kind = None, 1, request.GET.get("export")
    if sel.window and account:
        page = max(1, int(request.GET["page"])) if request.GET.get("page", "").isdigit() else 1
        exporting = kind in EXPORTS
        detail = general_ledger_detail(entity=sel.entity, account_id=account.pk, window=sel.window,
                                       limit=None if exporting else GL_PAGE_SIZE,
                                       offset=0 if exporting else (page - 1) * GL_PAGE_SIZE)
        record_read(request, sel, "general_ledger", f"{sel.entity.code}/{account.code}/{sel.window.label}")
        if exporting:
            return report_response(kind, general_ledger_file(request, sel, account, detail))
    pages = -(-detail.total_lines // GL_PAGE_SIZE) if detail else 0
    return render(modeladmin, request, "general_ledger.html", "General ledger", sel, accounts=accounts,
                  account=account, detail=detail, page=page, pages=pages,
                  export_query=sel.query(account=account.code) if detail else "",
                  next_query=sel.query(account=account.code, page=page + 1) if detail and page < pages else "",
                  prev_query=sel.query(account=account.code, page=page - 1) if detail and page > 1 else "")


def general_ledger_file(request, sel: Selection, account: Account, detail) -> ReportFile:
    report = ReportFile(
        filename=f"general-ledger-{sel.entity.code}-{account.code}-{sel.window.label.replace(' – ', '-to-')}",
        title="General ledger", currency=sel.currency,
        header=[*header_block(request, sel), ("Account", f"{account.code} – {account.name}")],
        columns=["Date", "Entry", "Period", "Description", "Memo", "Import", "Source row", "Currency",
                 "Amount (currency)", "Debit", "Credit", "Balance"],
        totals=[("Opening balance", detail.opening), ("Total debit", detail.debit), ("Total credit", detail.credit),
                ("Closing balance", detail.opening + detail.debit - detail.credit)])
    report.rows.append((OPENING, [sel.window.start, None, None, "Opening balance", None, None, None, None, None,
                                  None, None, detail.opening]))
    for ln in detail.lines:
        report.rows.append((LINE, [ln.entry_date, ln.entry_id, ln.period, ln.description, ln.memo,
                                   f"{ln.import_batch_id} {ln.import_file}" if ln.import_batch_id else None,
                                   ln.source_row, ln.currency, ln.amount, ln.debit, ln.credit, ln.balance]))
    return report


# ---- income statement and balance sheet ---------------------------------------------------------

def _natural(row) -> Decimal:
    """In the account type's natural sign: assets and expenses debit-positive, the others credit."""
    return row.net if row.type in ("asset", "expense") else -row.net


def _statement_rows(statement) -> list[dict]:
    rows = []
    for section, found in statement.sections.items():
        for r in found:
            rows.append({"section": TYPE_LABELS[section], "code": r.code, "name": r.name, "depth": r.depth,
                         "is_group": r.kind != "posting", "amount": _natural(r)})
    return rows


def statement_view(modeladmin, request, *, which: str):
    sel = select(request)
    title = "Income statement" if which == "income_statement" else "Balance sheet"
    statement, kind = None, request.GET.get("export")
    if sel.window:
        if which == "income_statement":
            statement = reports.income_statement(entity=sel.entity, period=sel.period, period_from=sel.period_from)
        else:
            statement = reports.balance_sheet(entity=sel.entity, period=sel.period)
        record_read(request, sel, which, f"{sel.entity.code}/{sel.window.label}")
        if kind in EXPORTS:
            return report_response(kind, statement_file(request, sel, which, title, statement))
    rows = _statement_rows(statement) if statement else []
    window = sel.window if which == "income_statement" else (Window(sel.period, sel.period) if sel.period else None)
    for r in rows:
        r["gl_url"] = gl_url(sel, r["code"], window) if not r["is_group"] else ""
    sections = []
    for section in (statement.sections if statement else {}):
        label = TYPE_LABELS[section]
        sections.append({"label": label, "rows": [r for r in rows if r["section"] == label],
                         "total": statement.totals[section]})
    return render(modeladmin, request, "statement.html", title, sel, statement=statement, sections=sections,
                  which=which, shown_label=window.label if window else "",
                  shown_state=sel.window_state(window) if window else "",
                  totals=[(TOTAL_LABELS[k], v) for k, v in statement.totals.items() if k in TOTAL_LABELS]
                  if statement else [], export_query=sel.query() if statement else "")


TOTAL_LABELS = {"net_income": "Net income", "current_year_earnings": "Current year's earnings",
                "equity_and_liabilities": "Liabilities, equity and current year's earnings"}


def statement_file(request, sel: Selection, which: str, title: str, statement) -> ReportFile:
    window = sel.window if which == "income_statement" else Window(sel.period, sel.period)
    header = header_block(request, sel, window)
    if which == "balance_sheet":
        header[2] = ("Period", f"as at the end of {sel.period.code}")
    report = ReportFile(
        filename=f"{which.replace('_', '-')}-{sel.entity.code}-{window.label.replace(' – ', '-to-')}", title=title,
        currency=sel.currency, header=header, columns=["Section", "Code", "Name", "Level", "Amount"],
        totals=[(f"Total {TYPE_LABELS[k].lower()}" if k in TYPE_LABELS else TOTAL_LABELS.get(k, k), v)
                for k, v in statement.totals.items()])
    if which == "balance_sheet":
        report.header.append(("Balances", "yes" if statement.reconciles else "NO"))
    for r in _statement_rows(statement):
        report.rows.append((GROUP if r["is_group"] else POSTING,
                            [r["section"], r["code"], r["name"], r["depth"], Decimal(r["amount"])]))
    return report
