"""The admin's report pages (issue #16 item 4): trial balance with opening, movement, closing and
comparisons; general-ledger detail; income statement and balance sheet; their CSV and XLSX files
read back; money with thousands separators and the currency's decimals; entity permissions."""
import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from openpyxl import load_workbook
from psycopg.types.range import Range

from ledger.inputs import EntryInput, LineInput
from ledger.models import LocalAccountMapping
from ledger.selectors.reports import trial_balance
from ledger.services.entries import journal_entry_create_and_post
from periods.services.transitions import fiscal_year_generate
from sheshi.money import money_display
from tests.factories import EntityFactory, user_with_role
from tests.locking import lock_through

pytestmark = pytest.mark.django_db

TB_URL = "/admin/ledger/balance/trial-balance/"
GL_URL = "/admin/ledger/balance/general-ledger/"
IS_URL = "/admin/ledger/balance/income-statement/"
BS_URL = "/admin/ledger/balance/balance-sheet/"


def staff(world, role="viewer", entity=None):
    user = user_with_role(entity or world.entity, role, first_name="Vera", last_name="Viewer")
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="ledger"))
    return user


def post(world, amount, day, dr="1200", cr="4100", entity=None, memo=""):
    amount = Decimal(amount)
    return journal_entry_create_and_post(actor=None, entity=entity or world.entity, entry=EntryInput(
        entry_date=day, description=f"Posting {amount}", lines=[
            LineInput(account_id=world.acc(dr), amount=amount, memo=memo),
            LineInput(account_id=world.acc(cr), amount=-amount, memo=memo)])).entry


def sheet(response):
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in ws.iter_rows()]


def header_and_table(cells):
    """(header dict label → value, column names, table rows as dicts) of an exported sheet."""
    values = [[c.value for c in row] for row in cells]
    blank = next(i for i, row in enumerate(values) if i and all(v is None for v in row))
    header = {row[0]: row[1] for row in values[1:blank]}
    columns = values[blank + 1]
    table = [dict(zip(columns, row, strict=False)) for row in values[blank + 2:]]
    return header, columns, table


def csv_parts(response):
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    blank = rows.index([])
    header = {r[0]: r[1] for r in rows[1:blank]}
    columns = rows[blank + 1]
    return header, columns, [dict(zip(columns, r, strict=True)) for r in rows[blank + 2:]]


# ---- money on pages -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "currency", "shown"), [
    ("1234567.8949", "EUR", "1,234,567.89"), ("1234567.895", "EUR", "1,234,567.90"),
    ("-1250.005", "EUR", "-1,250.00"), ("1234567.5", "JPY", "1,234,568"), ("1234.5675", "BHD", "1,234.568"),
    ("-0.001", "EUR", "0.00"), ("0", "USD", "0.00")])
def test_money_is_shown_with_separators_and_the_currencys_decimals(value, currency, shown):
    assert money_display(Decimal(value), currency) == shown


# ---- trial balance --------------------------------------------------------------------------------

def test_trial_balance_has_opening_movement_and_closing_in_the_currencys_format(client, world):
    """Was year-to-date only, 4 decimals, no thousands separators."""
    post(world, "1234567.50", date(2026, 2, 10))
    post(world, "42", date(2026, 3, 5))
    client.force_login(staff(world))
    html = client.get(TB_URL, {"entity": world.entity.code, "period": "2026-03"}).content.decode()
    receivables = html[html.index('>1200</a>'):].split("</tr>")[0]
    assert [c.split("<")[0] for c in receivables.split('class="num">')[1:]] == [
        "1,234,567.50", "42.00", "0.00", "1,234,609.50"]
    sales = html[html.index('>4100</a>'):].split("</tr>")[0]  # P&L: opening is the year to date before March
    assert [c.split("<")[0] for c in sales.split('class="num">')[1:]] == [
        "-1,234,567.50", "0.00", "42.00", "-1,234,609.50"]
    assert "reconciles: debits = credits = 42.00" in html
    assert "1234567.5000" not in html and "1234609.5000" not in html


def test_trial_balance_closing_matches_the_api_selector_and_a_range_moves_from_its_first_period(client, world):
    post(world, "100", date(2026, 1, 10))
    post(world, "30", date(2026, 2, 10), dr="5100", cr="1100")
    post(world, "7", date(2026, 3, 10))
    from ledger.selectors.report_tables import Window, trial_balance_table

    jan, mar = world.period("2026-01"), world.period("2026-03")
    table = trial_balance_table(entity=world.entity, window=Window(world.period("2026-02"), mar), comparisons=[])
    ytd = trial_balance(entity=world.entity, period=mar)
    assert {r.code: r.closing for r in table.rows} == {r.code: r.net for r in ytd.rows}
    by_code = {r.code: r for r in table.rows}
    assert (by_code["1200"].opening, by_code["1200"].debit, by_code["1200"].credit) == (100, 7, 0)
    assert (by_code["1000"].opening, by_code["1000"].debit, by_code["1000"].credit) == (100, 7, 30)  # group roll-up
    assert table.reconciles
    whole = trial_balance_table(entity=world.entity, window=Window(jan, mar), comparisons=[])
    assert {r.code: r.closing for r in whole.rows} == {r.code: r.closing for r in table.rows}
    assert all(r.opening == 0 for r in whole.rows if r.type in ("revenue", "expense"))


def test_comparison_columns_show_the_prior_period_and_the_same_period_last_year(client, world):
    fiscal_year_generate(organisation=world.org, year=2025)
    post(world, "5", date(2025, 3, 10))
    post(world, "11", date(2026, 2, 10))
    post(world, "13", date(2026, 3, 10))
    lock_through(actor=None, entity_period_id=world.entity_period("2025-03").pk)
    client.force_login(staff(world))
    page = client.get(TB_URL, {"entity": world.entity.code, "period": "2026-03", "compare": ["prior", "last_year"]})
    html = page.content.decode()
    assert "Prior period<br>2026-02 movement" in html and "Same period last year<br>2025-03 closing" in html
    assert "Same period last year: Locked" in html and "Prior period: Open" in html
    sales = html[html.index('>4100</a>'):].split("</tr>")[0]
    # opening, debit, credit, closing | prior movement, closing | last year movement, closing
    assert [c.split("<")[0] for c in sales.split('class="num">')[1:]] == [
        "-11.00", "0.00", "13.00", "-24.00", "-11.00", "-11.00", "-5.00", "-5.00"]
    xlsx = client.get(TB_URL, {"entity": world.entity.code, "period": "2026-03", "compare": ["prior", "last_year"],
                               "export": "xlsx"})
    header, columns, table = header_and_table(sheet(xlsx))
    assert header["Same period last year"] == "2025-03 (locked)"
    assert columns[-2:] == ["Same period last year (2025-03) movement", "Same period last year (2025-03) closing"]
    assert next(r for r in table if r["Code"] == "1200")["Prior period (2026-02) closing"] == Decimal("16")


def test_each_account_links_to_its_general_ledger_page_not_json(client, world):
    post(world, "9", date(2026, 3, 5))
    client.force_login(staff(world))
    html = client.get(TB_URL, {"entity": world.entity.code, "period": "2026-03"}).content.decode()
    assert (f'href="{GL_URL}?entity={world.entity.code}&amp;account=1200&amp;period_from=2026-03&amp;'
            f'period=2026-03">1200</a>') in html
    assert "/api/v1/" not in html


def test_trial_balance_xlsx_names_its_scope_and_a_sum_does_not_double_count_groups(client, world):
    """The old XLSX mixed group and posting rows (a SUM counted every amount twice) and had no header."""
    post(world, "1234.56", date(2026, 3, 5))
    post(world, "100", date(2026, 3, 6), dr="5100", cr="2100")
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    client.force_login(staff(world))
    response = client.get(TB_URL, {"entity": world.entity.code, "period": "2026-03", "export": "xlsx"})
    cells = sheet(response)
    header, columns, table = header_and_table(cells)
    assert header["Organisation"] == f"{world.org.code} – {world.org.name}"
    assert header["Entity"] == f"{world.entity.code} – {world.entity.name}"
    assert (header["Period"], header["Period state"], header["Currency"]) == ("2026-03", "Locked", "EUR")
    assert header["Generated by"] == "Vera Viewer" and header["Generated at"].startswith(str(date.today().year))
    debit_sum = sum(r["Debit"] for r in table if isinstance(r["Debit"], Decimal | int | float))
    assert Decimal(str(debit_sum)) == Decimal(str(header["Total debit"])) == Decimal("1334.56")
    assert sum(Decimal(str(r["Closing"] or 0)) for r in table) == header["Total closing"] == 0
    groups = [r for r in table if r["Row"] == "group"]
    assert {r["Code"] for r in groups} == {"1000", "2000", "4000", "5000"}
    assert all(r[c] is None for r in groups for c in ("Opening", "Debit", "Credit", "Closing"))
    debit_col = columns.index("Debit")
    money_cells = [row[debit_col] for row in cells if isinstance(row[debit_col].value, int | float | Decimal)
                   and row[0].value == "posting"]
    assert money_cells and {c.number_format for c in money_cells} == {"#,##0.00;-#,##0.00"}


def test_trial_balance_csv_has_the_header_block_decimal_strings_and_marked_rows(client, world):
    post(world, "1234.5", date(2026, 3, 5))
    client.force_login(staff(world))
    header, columns, table = csv_parts(client.get(TB_URL, {"entity": world.entity.code, "period": "2026-03",
                                                           "export": "csv"}))
    assert (header["Period"], header["Period state"], header["Total debit"]) == ("2026-03", "Open", "1234.5000")
    assert columns[:5] == ["Row", "Code", "Name", "Type", "Level"]
    receivables = next(r for r in table if r["Code"] == "1200")
    assert (receivables["Row"], receivables["Debit"], receivables["Closing"]) == ("posting", "1234.5000", "1234.5000")
    assets = next(r for r in table if r["Code"] == "1000")
    assert (assets["Row"], assets["Debit"]) == ("group", "")
    assert sum(Decimal(r["Debit"] or 0) for r in table) == Decimal("1234.5")


def test_a_zero_decimal_currency_exports_with_no_decimals(client, world):
    yen = EntityFactory(organisation=world.org, code="ACME-JP", functional_currency="JPY", country="JP")
    fiscal_year_generate(organisation=world.org, year=2026)  # opens the new entity's periods
    post(world, "1500000", date(2026, 3, 5), entity=yen)
    client.force_login(staff(world, entity=yen))
    html = client.get(TB_URL, {"entity": yen.code, "period": "2026-03"}).content.decode()
    assert "1,500,000<" in html and "1,500,000.00" not in html
    cells = sheet(client.get(TB_URL, {"entity": yen.code, "period": "2026-03", "export": "xlsx"}))
    _, columns, _ = header_and_table(cells)
    money = [columns.index(c) for c in ("Opening", "Debit", "Credit", "Closing")]
    formats = {row[i].number_format for row in cells for i in money if row[0].value == "posting"}
    assert formats == {"#,##0;-#,##0"}


# ---- general ledger -------------------------------------------------------------------------------

def test_general_ledger_has_an_opening_row_running_balance_and_links_to_entries(client, world):
    post(world, "1000", date(2026, 2, 1))
    first = post(world, "250", date(2026, 3, 3), memo="first")
    second = post(world, "75.5", date(2026, 3, 9), dr="1100", cr="1200", memo="paid")
    client.force_login(staff(world))
    page = client.get(GL_URL, {"entity": world.entity.code, "account": "1200", "period": "2026-03"})
    html = page.content.decode()
    assert page.status_code == 200
    opening = html[html.index('<tr class="opening">'):].split("</tr>")[0]
    assert "Opening balance" in opening and ">1,000.00<" in opening
    lines = [chunk.split("</tr>")[0] for chunk in html.split('<tr class="line">')[1:]]
    assert [ln.split('class="num">')[-1].split("<")[0] for ln in lines] == ["1,250.00", "1,174.50"]
    assert f'href="/admin/ledger/journalentry/{first.pk}/change/">{first.pk}</a>' in lines[0]
    assert f'href="/admin/ledger/journalentry/{second.pk}/change/">{second.pk}</a>' in lines[1]
    assert "<td>first</td>" in lines[0] and "<td>paid</td>" in lines[1]

    header, _columns, table = header_and_table(sheet(client.get(
        GL_URL, {"entity": world.entity.code, "account": "1200", "period": "2026-03", "export": "xlsx"})))
    assert header["Account"] == "1200 – Receivables"
    assert [r["Row"] for r in table] == ["opening", "line", "line"]
    assert [r["Balance"] for r in table] == [Decimal(1000), Decimal(1250), Decimal("1174.5")]
    assert sum(r["Debit"] or 0 for r in table) == header["Total debit"] == 250
    assert header["Closing balance"] == Decimal("1174.5")


def test_general_ledger_links_an_imported_line_to_its_batch_and_source_row(client, world):
    from ledger.imports.services import import_batch_create, import_batch_run
    from tests.imports.helpers import FILES, TB

    for local, group in {"1000": "1100", "1200": "1200", "2000": "2100", "4000": "4100"}.items():
        LocalAccountMapping.objects.create(organisation=world.org, entity=world.entity, local_code=local,
                                           account=world.accounts[group], valid=Range(date(2020, 1, 1), None))
    batch = import_batch_create(actor=None, entity=world.entity, period=world.period("2026-01"),
                                stream=io.BytesIO((FILES / "tb_utf8.csv").read_bytes()), filename="tb_utf8.csv",
                                mapping=TB)
    import_batch_run(actor=None, batch_id=batch.pk)
    client.force_login(staff(world))
    html = client.get(GL_URL, {"entity": world.entity.code, "account": "1200", "period": "2026-01"}).content.decode()
    assert f'<a href="/admin/ledger/importbatch/{batch.pk}/change/">tb_utf8.csv</a>' in html
    assert f'<a href="/admin/ledger/importbatch/{batch.pk}/file/" title="the stored source file">row 3</a>' in html
    _, _, table = csv_parts(client.get(GL_URL, {"entity": world.entity.code, "account": "1200",
                                                "period": "2026-01", "export": "csv"}))
    assert (table[1]["Import"], table[1]["Source row"], table[1]["Debit"]) == (
        f"{batch.pk} tb_utf8.csv", "3", "12345.6700")


# ---- statements -----------------------------------------------------------------------------------

def test_income_statement_and_balance_sheet_pages_and_their_files(client, world):
    post(world, "1000", date(2026, 1, 15))
    post(world, "400", date(2026, 2, 15), dr="5100", cr="2100")
    client.force_login(staff(world))
    html = client.get(IS_URL, {"entity": world.entity.code, "period": "2026-02",
                               "period_from": "2026-01"}).content.decode()
    assert "Net income" in html and ">600.00<" in html and ">1,000.00<" in html
    assert (f'<a href="{GL_URL}?entity={world.entity.code}&amp;account=4100&amp;period_from=2026-01&amp;'
            f'period=2026-02">4100</a>') in html
    header, _, table = header_and_table(sheet(client.get(IS_URL, {
        "entity": world.entity.code, "period": "2026-02", "period_from": "2026-01", "export": "xlsx"})))
    assert header["Period"] == "2026-01 – 2026-02" and header["Period state"] == "2026-01 open, 2026-02 open"
    assert (header["Total revenue"], header["Total expenses"], header["Net income"]) == (1000, 400, 600)
    revenue = [r for r in table if r["Section"] == "Revenue"]
    assert sum(r["Amount"] or 0 for r in revenue) == header["Total revenue"]
    assert [r["Amount"] for r in table if r["Row"] == "group"] == [None, None]

    html = client.get(BS_URL, {"entity": world.entity.code, "period": "2026-02"}).content.decode()
    assert "balances</span>" in html and "Current year&#x27;s earnings" in html
    header, _, table = csv_parts(client.get(BS_URL, {"entity": world.entity.code, "period": "2026-02",
                                                     "export": "csv"}))
    assert (header["Total assets"], header["Total liabilities"], header["Balances"]) == ("1000.0000", "400.0000", "yes")
    assert sum(Decimal(r["Amount"] or 0) for r in table if r["Section"] == "Assets") == Decimal(1000)


# ---- permissions ----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [TB_URL, GL_URL, IS_URL, BS_URL])
@pytest.mark.parametrize("export", ["", "csv", "xlsx"])
def test_a_user_of_one_entity_cannot_read_another_entitys_reports(client, world, url, export):
    # A figure no request id can contain (a "777" matched the random hex of one 403's request id).
    post(world, "777.01", date(2026, 3, 5), entity=world.other)
    client.force_login(staff(world))  # viewer of world.entity only
    params = {"entity": world.other.code, "period": "2026-03", "account": "1200"}
    response = client.get(url, {**params, "export": export} if export else params)
    assert response.status_code == 403
    assert b"777.01" not in response.content
    mine = client.get(url, {**params, "entity": world.entity.code})
    assert mine.status_code == 200 and world.other.code.encode() not in mine.content


def test_a_reversed_range_is_a_message_not_an_error(client, world):
    client.force_login(staff(world))
    page = client.get(TB_URL, {"entity": world.entity.code, "period": "2026-02", "period_from": "2026-03"})
    assert page.status_code == 200
    assert "The range starts (2026-03) after it ends (2026-02)." in page.content.decode()


def test_the_admin_index_links_the_report_pages(client, world):
    client.force_login(staff(world))
    html = client.get("/admin/").content.decode()
    for url, name in [(TB_URL, "Trial balance"), (GL_URL, "General ledger"), (IS_URL, "Income statement"),
                      (BS_URL, "Balance sheet")]:
        assert f'<a href="{url}">{name}</a>' in html
