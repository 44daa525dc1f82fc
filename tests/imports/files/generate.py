"""Write the small test files in this folder. Run once after changing it; the files are committed.

    .venv/bin/python tests/imports/files/generate.py

Large or hostile files (the zip bomb, big generated workbooks) are built by test fixtures at
run time instead, so the repository stays small.
"""
from __future__ import annotations

import random
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write(name: str, text: str, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(text.encode(encoding))


TB_ROWS = [
    ("1000", "Kasse Zürich", "1,500.00", ""),
    ("1200", "Forderungen — Müller & Söhne", "12,345.67", ""),
    ("2000", "Verbindlichkeiten Société Générale", "", "8,845.67"),
    ("4000", "Umsatzerlöse", "", "5,000.00"),
]


def tb_csv(sep: str = ",") -> str:
    lines = [sep.join(["Account", "Name", "Debit", "Credit"])]
    lines += [sep.join(f'"{c}"' if sep in c else c for c in row) for row in TB_ROWS]
    return "\r\n".join(lines) + "\r\n"


def main() -> None:
    write("tb_utf8.csv", tb_csv())
    write("tb_utf8_bom.csv", "\ufeff" + tb_csv())
    write("tb_cp1252.csv", tb_csv(), encoding="cp1252")  # the em dash is 0x97, a C1 control in Latin-1
    write("tb_semicolon_decimal_comma.csv",
          "Mandant ACME GmbH - Saldenliste Januar 2026\n"
          "\n"
          "Konto;Bezeichnung;Soll;Haben;Währung\n"
          "1000;Kasse;1.500,00;;EUR\n"
          "1200;Forderungen;12.345,67;;EUR\n"
          "2000;Verbindlichkeiten;;8.845,67;EUR\n"
          "4000;Umsatzerlöse;;5.000,00;\n")
    write("gl_signed_formats.tsv", "\n".join([
        "Date\tDoc\tAccount\tAmount\tCurrency\tPartner\tText",
        "2026-01-05\tINV-1\t1200\t$1,234.56\tUSD\tFR01\tInvoice 1",
        "2026-01-05\tINV-1\t4000\t(1,234.56)\tUSD\tFR01\t=HYPERLINK(\"http://x.example\",\"click\")",
        "2026-01-06\tPAY-1\t1000\t500.00\tUSD\t\t+cmd|' /C calc'!A0",
        "2026-01-06\tPAY-1\t1200\t500.00-\tUSD\t\t@SUM(1+1)",
        "2026-01-07\tADJ-1\t1000\t-0.10\tusd\t\t-2+3",
        "2026-01-07\tADJ-1\t4000\t0.10\tUSD\t\t\t",
    ]) + "\n")
    write("tb_unbalanced.csv", "Account,Name,Debit,Credit\n"
          "1000,Cash,100.00,\n"
          "2000,Payables,,90.00\n"
          "4000,Revenue,,9.99\n")
    write("tb_problems.csv", "Account,Name,Debit,Credit,Currency\n"
          "1000,Cash,100.00,,USD\n"
          "7777,Mystery,50.00,,USD\n"
          "9999,Suspense,,25.00,USD\n"
          "2000,Payables,10.00,10.00,USD\n"
          "3000,Equity,,twelve,USD\n"
          "4000,Revenue,,1.5E+03,XYZ\n"
          ",No account,1.00,,USD\n"
          "1200,Receivables,1.23456,,USD\n"
          "5000,Expenses,\"1,5\",,USD\n")
    write("gl_dates.csv", "Date,Account,Amount,Text\n"
          "31.12.2025,1000,100.00,last year\n"
          "01.01.2026,4000,-100.00,first day\n"
          "31.01.2026,1000,5.00,last day\n"
          "01.02.2026,4000,-5.00,next month\n"
          "32.01.2026,1000,1.00,no such day\n"
          ",4000,-1.00,no date\n")
    rng = random.Random(20260101)  # fixed seed: the same junk every time
    (HERE / "junk.csv").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    write("not_a_workbook.xlsx", "Account,Debit,Credit\n1000,1.00,\n")
    write("long_line.csv", "Account,Name,Debit,Credit\n1000,Cash,1.00,\n2000," + "x" * 100_000 + ",,1.00\n")
    formulas_xlsx()


def formulas_xlsx() -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Trial balance"
    ws.append(["Account", "Name", "Debit", "Credit", "Date"])
    ws.append([1000, "=HYPERLINK(\"http://x.example\",\"cash\")", 1500, None, date(2026, 1, 31)])
    ws.append(["1200", "-Receivables", 12345.67, None, date(2026, 1, 31)])
    ws.append([2000, "+Payables", None, 8845.67, date(2026, 1, 31)])
    ws.append([4000, "@Revenue", None, "=C2+C3-D4", date(2026, 1, 31)])
    ws.append([5000, "Rounding noise", 0.1 + 0.2, None, date(2026, 1, 31)])
    wb.create_sheet("Notes").append(["prepared by", "someone"])
    wb.save(HERE / "tb_formulas.xlsx")


if __name__ == "__main__":
    main()
