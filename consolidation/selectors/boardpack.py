"""XLSX board pack of a consolidation run. Numbers stay numbers (Decimal cells with a number
format), never text. Sheets: Cover (sign convention, fingerprint, inputs, who/when), BS and IS with
comparatives (prior period, same period last year, when those runs exist), Members (the members'
ledgers at closing, translation and every consolidation journal, totals as live SUM formulas with
their values cached), IC differences, CTA, NCI.

One sign convention on every sheet (SIGN_CONVENTION, printed on the cover): the natural balance
of each line. The profit attributed to non-controlling interests is not a balance-sheet line of
its own: it is inside NCI, and the owners' share of the profit is shown instead (before #17 the
BS showed "Profit attributable to NCI" as -184 among positive credits)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from consolidation.models import ConsolidationRun, RunStatus
from consolidation.selectors.journals import MANUAL, run_journals
from consolidation.xlsx_formulas import CachedFormulas
from ledger.models import Account
from periods.models import Period

MONEY = "#,##0.00;-#,##0.00"
PCT = "0.00##"
RATE = "0.000000######"
BOLD = Font(bold=True)
SIGN_CONVENTION = (
    "Every amount is shown in the natural balance of its line: assets and expenses (and the profit "
    "attributed to non-controlling interests) as debits positive; liabilities, equity (CTA and NCI included) "
    "and income as credits positive. A negative figure is against the nature of its line.")
# Members-sheet sections: (title, account types, sign that turns debit-positive into natural)
SECTIONS = [("Assets", ("asset",), 1), ("Liabilities", ("liability",), -1), ("Equity", ("equity",), -1),
            ("Income", ("revenue",), -1), ("Expenses", ("expense",), 1),
            ("Profit attributable to non-controlling interests", (), 1)]


def _d(value) -> Decimal:
    return Decimal(value) if value not in (None, "") else Decimal(0)


def natural_sign(account: dict) -> int:
    if account.get("role") == "nci_profit":
        return 1
    return 1 if account.get("type") in ("asset", "expense") else -1


def _section_of(account: dict) -> str:
    if account.get("role") == "nci_profit":
        return SECTIONS[-1][0]
    return next((title for title, types, _ in SECTIONS if account.get("type") in types), "Other")


def _sheet(wb: Workbook, title: str, header: list[str]):
    ws = wb.create_sheet(title)
    ws.append(header)
    for cell in ws[1]:
        cell.font = BOLD
    ws.freeze_panes = "A2"
    return ws


def _money_row(ws, row: list, money_from: int = 1, bold: bool = False) -> None:
    ws.append(row)
    for i, cell in enumerate(ws[ws.max_row]):
        if i >= money_from and isinstance(cell.value, Decimal):
            cell.number_format = MONEY
        if bold:
            cell.font = BOLD


def _widths(ws, first: int = 14, rest: int = 16) -> None:
    ws.column_dimensions["A"].width = first
    for i in range(2, ws.max_column + 1):
        ws.column_dimensions[get_column_letter(i)].width = rest


def board_pack_build(results: dict[str, Any], *, cover: dict[str, Any], accounts: dict[str, dict],
                     comparatives: list[tuple[str, dict[str, Any]]] = ()) -> tuple[Workbook, CachedFormulas]:
    """``accounts``: code -> {"name", "type", "role"} of the group chart; ``comparatives``: (label,
    results) of earlier runs, shown beside the current figures on BS and IS."""
    wb = Workbook()
    cache = CachedFormulas()
    ws = wb.active
    ws.title = "Cover"
    ws.append(["Consolidation board pack"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["sign convention", SIGN_CONVENTION])
    for key, value in cover.items():
        ws.append([key, value])
    ws.append(["fingerprint", results["fingerprint"]])
    ws.append(["comparatives", ", ".join(label for label, _ in comparatives) or "none (no earlier runs)"])
    ws.append([])
    ws.append(["Inputs (sha256 per section)"])
    ws[ws.max_row][0].font = BOLD
    for section, digest in results.get("fingerprint_sections", {}).items():
        ws.append([section, digest])
    ws.append([])
    ws.append(["Effective interest (%)"])
    ws[ws.max_row][0].font = BOLD
    for entity, pct in results["effective_interest"].items():
        ws.append([entity, Decimal(pct)])
        ws[ws.max_row][1].number_format = PCT
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 90

    columns = [("Current", results), *comparatives]
    _statement_bs(wb, columns, accounts)
    _statement_is(wb, columns, accounts)
    _members(wb, cache, results, accounts)
    _ic(wb, results, accounts)
    _cta(wb, results)
    _nci(wb, results)
    return wb, cache


def _figures(results: dict[str, Any]) -> dict[str, Decimal]:
    return {k: _d(v) for k, v in results["consolidated_tb"].items()}


def _lines(columns, accounts, keep) -> list[str]:
    codes = set()
    for _label, res in columns:
        codes |= {c for c in res["consolidated_tb"] if keep(accounts.get(c, {}))}
    return sorted(codes)


def _statement_bs(wb, columns, accounts) -> None:
    ccy = columns[0][1]["group_currency"]
    ws = _sheet(wb, "BS", ["Account", "Name", *[f"{label} ({ccy})" for label, _ in columns]])
    tbs = [_figures(res) for _label, res in columns]

    def line(code):
        acc = accounts.get(code, {})
        _money_row(ws, [code, acc.get("name", ""), *[natural_sign(acc) * tb.get(code, Decimal(0)) for tb in tbs]],
                   money_from=2)

    def total(name, values, bold=True):
        _money_row(ws, ["", name, *values], money_from=2, bold=bold)

    def heading(text):
        ws.append([text])
        ws[ws.max_row][0].font = BOLD

    heading("Assets")
    for code in _lines(columns, accounts, lambda a: a.get("type") == "asset"):
        line(code)
    total("Total assets", [_d(res["totals"]["assets"]) for _l, res in columns])
    heading("Equity")
    for code in _lines(columns, accounts, lambda a: a.get("type") == "equity" and a.get("role") not in (
            "nci", "nci_profit")):
        line(code)
    total("Profit for the period attributable to owners of the parent",
          [_d(res["profit_attributable_to_owners"]) for _l, res in columns], bold=False)
    owners = [_owners_equity(res, accounts) for _l, res in columns]
    total("Equity attributable to owners of the parent", owners)
    total("Non-controlling interests", [_d(res["nci_equity"]) for _l, res in columns], bold=False)
    total("Total equity", [o + _d(res["nci_equity"]) for o, (_l, res) in zip(owners, columns, strict=True)])
    heading("Liabilities")
    for code in _lines(columns, accounts, lambda a: a.get("type") == "liability"):
        line(code)
    total("Total liabilities", [_d(res["totals"]["liabilities"]) for _l, res in columns])
    total("Total equity and liabilities",
          [o + _d(res["nci_equity"]) + _d(res["totals"]["liabilities"])
           for o, (_l, res) in zip(owners, columns, strict=True)])
    _widths(ws, 12, 44)


def _owners_equity(results, accounts) -> Decimal:
    """Equity lines other than NCI (credit positive) plus the owners' share of the profit."""
    tb = _figures(results)
    lines = sum((-v for k, v in tb.items() if accounts.get(k, {}).get("type") == "equity"
                 and accounts.get(k, {}).get("role") not in ("nci", "nci_profit")), Decimal(0))
    return lines + _d(results["profit_attributable_to_owners"])


def _statement_is(wb, columns, accounts) -> None:
    ccy = columns[0][1]["group_currency"]
    ws = _sheet(wb, "IS", ["Account", "Name", *[f"{label} ({ccy})" for label, _ in columns]])
    tbs = [_figures(res) for _label, res in columns]
    for section, kind in (("Income", "revenue"), ("Expenses", "expense")):
        ws.append([section])
        ws[ws.max_row][0].font = BOLD
        for code in _lines(columns, accounts, lambda a, k=kind: a.get("type") == k and a.get("role") != "nci_profit"):
            acc = accounts.get(code, {})
            _money_row(ws, [code, acc.get("name", ""), *[natural_sign(acc) * tb.get(code, Decimal(0)) for tb in tbs]],
                       money_from=2)
    _money_row(ws, ["", "Profit for the period", *[_d(r["totals"]["net_income"]) for _l, r in columns]],
               money_from=2, bold=True)
    _money_row(ws, ["", "attributable to owners of the parent",
                    *[_d(r["profit_attributable_to_owners"]) for _l, r in columns]], money_from=2)
    _money_row(ws, ["", "attributable to non-controlling interests", *[_d(r["nci_profit"]) for _l, r in columns]],
               money_from=2)
    _widths(ws, 12, 44)


def _members(wb, cache: CachedFormulas, results, accounts) -> None:
    """One row per account, in sections; columns: each member's ledger at its closing rate, then
    every kind of consolidation journal (translation, eliminations, manual, rounding). The
    consolidated column and the section totals are SUM formulas; their cached values are the
    consolidated figures (the journals add up to them to the cent, consolidation/selectors/journals.py)."""
    rj = run_journals(results)
    members = list(results["members_order"])
    kinds = rj.columns()
    titles = {"translation": "Translation", MANUAL: "Manual adjustments", "rounding": "Rounding"}
    ws = _sheet(wb, "Members", ["Account", "Name", *[f"{m} (ledger at closing)" for m in members],
                                *[titles.get(k, f"Elimination: {k}") for k in kinds], "Consolidated"])
    values: dict[str, dict[str, Decimal]] = {}
    for m in members:
        for account, amount in rj.members[m].items():
            values.setdefault(account, {})[m] = amount
    for j in rj.journals:
        for _member, account, amount in j.lines:
            row = values.setdefault(account, {})
            row[j.kind] = row.get(j.kind, Decimal(0)) + amount
    cols = members + kinds
    first, last = get_column_letter(3), get_column_letter(2 + len(cols))
    total_col = get_column_letter(3 + len(cols))
    tb = _figures(results)
    section_rows: dict[str, int] = {}
    for title, _types, _sign in SECTIONS:
        codes = sorted(c for c in set(values) | set(tb) if _section_of(accounts.get(c, {})) == title
                       and (any(values.get(c, {}).values()) or tb.get(c)))
        if not codes:
            continue
        ws.append([title])
        ws[ws.max_row][0].font = BOLD
        start = ws.max_row + 1
        for code in codes:
            acc = accounts.get(code, {})
            sign = natural_sign(acc)
            cells = [sign * values.get(code, {}).get(c, Decimal(0)) for c in cols]
            _money_row(ws, [code, acc.get("name", ""), *cells], money_from=2)
            r = ws.max_row
            # the cached value is the sum of the cells shown, which is the consolidated figure
            cache.set(ws, f"{total_col}{r}", f"=SUM({first}{r}:{last}{r})", sum(cells, Decimal(0)), MONEY)
        end = ws.max_row
        ws.append(["", f"Total {title.lower()}"])
        r = ws.max_row
        section_rows[title] = r
        for i in range(len(cols) + 1):
            letter = get_column_letter(3 + i)
            column_values = [ws[f"{letter}{n}"].value for n in range(start, end + 1)]
            cached = sum((v if isinstance(v, Decimal) else cache.value(ws, f"{letter}{n}")
                          for n, v in zip(range(start, end + 1), column_values, strict=True)), Decimal(0))
            cache.set(ws, f"{letter}{r}", f"=SUM({letter}{start}:{letter}{end})", cached, MONEY)
            ws[f"{letter}{r}"].font = BOLD
        ws[f"B{r}"].font = BOLD
    _widths(ws, 12, 18)
    ws.column_dimensions["B"].width = 32


def _ic(wb, results, accounts) -> None:
    ws = _sheet(wb, "IC differences", ["Entity", "Account", "Counterparty", "Counterparty account", "Entity amount",
                                       "Counterparty amount", "Difference (counterparty - entity)", "Eliminated"])
    for d in results["ic_differences"]:
        own = natural_sign(accounts.get(d["account"], {})) * _d(d["entity_amount"])
        other = natural_sign(accounts.get(d["counterparty_account"], {})) * _d(d["counterparty_amount"])
        _money_row(ws, [d["entity"], d["account"], d["counterparty"], d["counterparty_account"], own, other,
                        other - own, _d(d["eliminated"])], money_from=4)
    _widths(ws)


def _cta(wb, results) -> None:
    ws = _sheet(wb, "CTA", ["Member", "Currency", "Closing rate", "Average rate", "Historical rate",
                            "Equity at historical (local)", "Profit less dividends (local)", "CTA from equity",
                            "CTA from profit", "CTA", "NCI share", "Goodwill retranslation"])
    nci = results.get("nci_by_member", {})
    gw = results.get("goodwill_by_member", {})
    for code, t in results["translation"].items():
        # stored debit positive; shown credit positive (equity), like every equity figure of the pack
        row = [code, t["currency"], Decimal(t["closing_rate"]), Decimal(t["average_rate"]),
               Decimal(t["historical_rate"]), -_d(t["equity_at_historical_local"]),
               -_d(t["profit_and_dividends_local"]), -_d(t["cta_from_equity"]), -_d(t["cta_from_profit"]),
               -_d(t["cta"]), _d(nci.get(code, {}).get("nci_cta")), _d(gw.get(code, {}).get("goodwill_fx"))]
        _money_row(ws, row, money_from=5)
        for cell in ws[ws.max_row][2:5]:
            cell.number_format = RATE
    _money_row(ws, ["Owners' CTA", "", "", "", "", "", "", "", "", "", "", _d(results["cta"])], money_from=5, bold=True)
    _money_row(ws, ["NCI's CTA", "", "", "", "", "", "", "", "", "", "", _d(results["cta_nci"])],
               money_from=5, bold=True)
    _widths(ws)


def _nci(wb, results) -> None:
    ws = _sheet(wb, "NCI", ["Member", "NCI %", "At acquisition", "Share of post-acquisition reserves",
                            "Share of profit", "Share of CTA", "Dividends to NCI", "Closing"])
    total = Decimal(0)
    for code, n in results.get("nci_by_member", {}).items():
        closing = _d(n["closing"])
        total += closing
        _money_row(ws, [code, Decimal(n["nci_pct"]) * 100, _d(n["at_acquisition"]), _d(n["nci_reserves"]),
                        _d(n["nci_profit"]), _d(n["nci_cta"]), -_d(n["dividends_to_nci"]), closing], money_from=2)
        ws[ws.max_row][1].number_format = PCT
    _money_row(ws, ["Total", "", "", "", "", "", "", total], money_from=2, bold=True)
    _money_row(ws, ["Consolidated NCI", "", "", "", "", "", "", _d(results["nci_equity"])], money_from=2)
    _widths(ws)


def comparative_runs(run) -> list[tuple[str, Any]]:
    """(label, run) for the prior period and the same period last year of the run's group, the
    latest succeeded run of each, where one exists."""
    period = run.period
    prior = (Period.objects.filter(organisation_id=run.organisation_id, end_date__lt=period.start_date)
             .order_by("-end_date").first())
    year_ago = Period.objects.filter(organisation_id=run.organisation_id,
                                     code=f"{period.end_date.year - 1}-{period.end_date.month:02d}").first()
    out = []
    for label, p in (("Prior period", prior), ("Same period last year", year_ago)):
        if p is None:
            continue
        other = (ConsolidationRun.objects.filter(group_id=run.group_id, period=p, status=RunStatus.SUCCEEDED)
                 .order_by("-id").first())
        if other is not None:
            out.append((f"{label} ({p.code})", other))
    return out


def board_pack_write(run, path_or_stream) -> None:
    """Write the board pack of a succeeded run (a file path or a binary stream)."""
    accounts = {a["code"]: a for a in Account.objects.filter(organisation_id=run.organisation_id)
                .values("code", "name", "type", "role")}
    comparatives = comparative_runs(run)
    cover = {
        "organisation": run.group.organisation.code, "group": f"{run.group.code} – {run.group.name}",
        "period": run.period.code, "group currency": run.results["group_currency"], "run": run.pk,
        "status": run.status, "requested by": run.requested_label or str(run.requested_by or "system"),
        "requested at": run.requested_at.isoformat(), "finished at": run.finished_at.isoformat()
        if run.finished_at else "", "duration (ms)": run.duration_ms,
        "changed inputs since previous run": ", ".join(run.changed_inputs) or "none",
    }
    for label, other in comparatives:
        cover[f"comparative: {label}"] = f"run {other.pk}, fingerprint {other.fingerprint}"
    wb, cache = board_pack_build(run.results, cover=cover, accounts=accounts,
                                 comparatives=[(label, other.results) for label, other in comparatives])
    cache.save(wb, path_or_stream)
