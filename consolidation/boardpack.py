"""XLSX board pack of a consolidation run. Numbers stay numbers (Decimal cells with a number
format), never text. Sheets: Cover (fingerprint, inputs, who/when), BS, IS, Members (a column per
member's translated contribution and per elimination kind), IC differences, CTA, NCI."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from consolidation.engine.rounding import r2
from consolidation.explain import member_columns

MONEY = "#,##0.00;-#,##0.00"
PCT = "0.00##"
BOLD = Font(bold=True)
NATURAL_DEBIT = ("asset", "expense")


def _d(value) -> Decimal:
    return Decimal(value) if value not in (None, "") else Decimal(0)


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


def board_pack_build(results: dict[str, Any], *, cover: dict[str, Any], accounts: dict[str, dict]) -> Workbook:
    """``accounts``: code -> {"name", "type", "role"} of the group chart."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Cover"
    ws.append(["Consolidation board pack"])
    ws["A1"].font = Font(bold=True, size=14)
    for key, value in cover.items():
        ws.append([key, value])
    ws.append(["fingerprint", results["fingerprint"]])
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
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 70

    tb = {k: _d(v) for k, v in results["consolidated_tb"].items()}
    _statement_bs(wb, results, tb, accounts)
    _statement_is(wb, results, tb, accounts)
    _members(wb, results, accounts)
    _ic(wb, results)
    _cta(wb, results)
    _nci(wb, results)
    return wb


def _natural(code: str, amount: Decimal, accounts) -> Decimal:
    return amount if accounts.get(code, {}).get("type") in NATURAL_DEBIT else -amount


def _statement_bs(wb, results, tb, accounts) -> None:
    ws = _sheet(wb, "BS", ["Account", "Name", f"Amount ({results['group_currency']})"])
    totals = results["totals"]
    for section, types in (("Assets", ("asset",)), ("Liabilities", ("liability",)), ("Equity", ("equity",))):
        ws.append([section])
        ws[ws.max_row][0].font = BOLD
        for code in sorted(tb):
            acc = accounts.get(code, {})
            if acc.get("type") in types:
                _money_row(ws, [code, acc.get("name", ""), _natural(code, tb[code], accounts)], money_from=2)
    _money_row(ws, ["", "Current year profit", _d(totals["net_income"])], money_from=2)
    _money_row(ws, ["", "Total assets", _d(totals["assets"])], money_from=2, bold=True)
    equity_side = _d(totals["liabilities"]) + _d(totals["equity"]) + _d(totals["net_income"])
    _money_row(ws, ["", "Liabilities + equity + profit", equity_side], money_from=2, bold=True)
    _money_row(ws, ["", "of which non-controlling interests", _d(results["nci_equity"])], money_from=2)
    _widths(ws, 12, 40)


def _statement_is(wb, results, tb, accounts) -> None:
    ws = _sheet(wb, "IS", ["Account", "Name", f"Amount ({results['group_currency']})"])
    for section, kind in (("Revenue", "revenue"), ("Expenses", "expense")):
        ws.append([section])
        ws[ws.max_row][0].font = BOLD
        for code in sorted(tb):
            acc = accounts.get(code, {})
            if acc.get("type") == kind and acc.get("role") != "nci_profit":
                _money_row(ws, [code, acc.get("name", ""), _natural(code, tb[code], accounts)], money_from=2)
    _money_row(ws, ["", "Profit for the period", _d(results["totals"]["net_income"])], money_from=2, bold=True)
    _money_row(ws, ["", "attributable to owners of the parent", _d(results["profit_attributable_to_owners"])],
               money_from=2)
    _money_row(ws, ["", "attributable to non-controlling interests", _d(results["nci_profit"])], money_from=2)
    _widths(ws, 12, 40)


def _members(wb, results, accounts) -> None:
    cols = member_columns(results)
    members = results["members_order"]
    kinds = sorted({e["kind"] for e in results["eliminations"]})
    ws = _sheet(wb, "Members", ["Account", "Name", *members, *[f"elim: {k}" for k in kinds], "Consolidated"])
    for code in sorted(cols):
        row = [code, accounts.get(code, {}).get("name", "")]
        row += [r2(cols[code].get(m, Decimal(0))) for m in members]
        row += [r2(cols[code].get(k, Decimal(0))) for k in kinds]
        row.append(_d(results["consolidated_tb"].get(code, "0")))
        _money_row(ws, row, money_from=2)
    _widths(ws, 12, 16)


def _ic(wb, results) -> None:
    ws = _sheet(wb, "IC differences", ["Entity", "Account", "Counterparty", "Counterparty account", "Entity amount",
                                       "Counterparty amount", "Difference", "Eliminated"])
    for d in results["ic_differences"]:
        _money_row(ws, [d["entity"], d["account"], d["counterparty"], d["counterparty_account"],
                        _d(d["entity_amount"]), _d(d["counterparty_amount"]), _d(d["difference"]),
                        _d(d["eliminated"])], money_from=4)
    _widths(ws)


def _cta(wb, results) -> None:
    ws = _sheet(wb, "CTA", ["Member", "Currency", "Closing rate", "Average rate", "Historical rate",
                            "Equity (local)", "Profit and dividends (local)", "CTA from equity", "CTA from profit",
                            "CTA (debit +)", "NCI share (credit +)", "Goodwill retranslation"])
    nci = results.get("nci_by_member", {})
    gw = results.get("goodwill_by_member", {})
    for code, t in results["translation"].items():
        row = [code, t["currency"], Decimal(t["closing_rate"]), Decimal(t["average_rate"]),
               Decimal(t["historical_rate"]), _d(t["equity_at_historical_local"]),
               _d(t["profit_and_dividends_local"]), _d(t["cta_from_equity"]), _d(t["cta_from_profit"]),
               _d(t["cta"]), _d(nci.get(code, {}).get("nci_cta")), _d(gw.get(code, {}).get("goodwill_fx"))]
        _money_row(ws, row, money_from=5)
        for cell in ws[ws.max_row][2:5]:
            cell.number_format = "0.000000######"
    _money_row(ws, ["Owners' CTA (credit +)", "", "", "", "", "", "", "", "", "", "", _d(results["cta"])],
               money_from=5, bold=True)
    _money_row(ws, ["NCI's CTA (credit +)", "", "", "", "", "", "", "", "", "", "", _d(results["cta_nci"])],
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


def board_pack_write(run, path_or_stream) -> None:
    """Write the board pack of a succeeded run (a file path or a binary stream)."""
    from ledger.models import Account

    accounts = {a["code"]: a for a in Account.objects.filter(organisation_id=run.organisation_id)
                .values("code", "name", "type", "role")}
    cover = {
        "organisation": run.group.organisation.code, "group": f"{run.group.code} – {run.group.name}",
        "period": run.period.code, "group currency": run.results["group_currency"], "run": run.pk,
        "status": run.status, "requested by": run.requested_label or str(run.requested_by or "system"),
        "requested at": run.requested_at.isoformat(), "finished at": run.finished_at.isoformat()
        if run.finished_at else "", "duration (ms)": run.duration_ms,
        "changed inputs since previous run": ", ".join(run.changed_inputs) or "none",
    }
    board_pack_build(run.results, cover=cover, accounts=accounts).save(path_or_stream)
