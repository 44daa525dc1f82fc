"""The controller's consolidation walk in a real browser (issue #17, item 7), on the demo group:
December's closing and average rates arrive as a file and are uploaded (a first file with a rate
the group already holds is refused with the row named, nothing loaded); December is consolidated
from the admin; the run page is read; a consolidated receivable is drilled down to a UK ledger line
and the export file row it was imported from; the intercompany difference is explained; the board
pack is downloaded and read back with openpyxl. One world (the demo, loaded once), few page loads,
no sleeps: every wait is on the page or the download."""
from __future__ import annotations

import csv
import io
import json
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from consolidation.demo import CLOSING, average_rates
from consolidation.models import ConsolidationRun, FxRate, IcDifference, RunStatus
from consolidation.selectors.run_reports import accounts_by_code, member_figure, statements
from ledger.imports.models import ImportBatch
from ledger.models import JournalLine
from periods.models import Period
from sheshi.db.context import system_context
from sheshi.demo.loader import DEMO_PASSWORD, load_demo
from sheshi.demo.make_files import FILES
from tests.browser.conftest import TIMES
from tests.browser.test_journal_walk import Walk

pytestmark = pytest.mark.browser

DECEMBER = "2026-12-31"
# A rate the demo already holds (November's USD closing rate) makes the whole first file refused.
REFUSED = ("from,to,type,rate,date\n"
           f"GBP,EUR,closing,1.1620,{DECEMBER}\n"
           "USD,EUR,closing,0.8570,2026-11-30\n")
# December's closing and average rates, as the demo would have entered them.
RATES = "from,to,type,rate,date\n" + "".join(
    f"{ccy},EUR,{kind},{rate},{DECEMBER}\n" for ccy in ("GBP", "USD")
    for kind, rate in (("closing", CLOSING[ccy][11]), ("average", average_rates(ccy)[11])))


@pytest.fixture
def demo(transactional_db):
    """The demo group (January-November consolidated), less December's closing and average
    rates: they are the file the controller uploads."""
    with system_context("test:consolidation walk"):
        org = load_demo()
        deleted, _ = FxRate.objects.filter(organisation=org, rate_date=DECEMBER,
                                           rate_type__in=["closing", "average"]).delete()
    assert deleted == 4
    return org


def log_in(walk: Walk, username: str) -> None:
    walk.d.delete_all_cookies()
    walk.open("/admin/login/", f"login page ({username})")
    walk.css("#id_username").send_keys(username)
    walk.css("#id_password").send_keys(DEMO_PASSWORD)
    walk.click(walk.css("input[type=submit]"), f"log in ({username})")


def upload(walk: Walk, org, path, label: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(walk.css("#id_organisation")).select_by_value(str(org.pk))
    walk.css("#id_file").send_keys(str(path))
    walk.click(walk.css("#rates-upload input[type=submit]"), label)


def download(driver, link, folder: Path) -> Path:
    """Click a download link and wait for the finished file (Chromium writes *.crdownload first)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    started = time.perf_counter()
    link.click()
    WebDriverWait(driver, 30, poll_frequency=0.05).until(
        lambda d: [p for p in folder.iterdir() if p.suffix == ".xlsx"])
    (path,) = folder.glob("*.xlsx")
    TIMES.rows.append(("board pack download", (time.perf_counter() - started) * 1000, 0, 0))
    return path


def test_controller_uploads_rates_consolidates_drills_explains_and_downloads_the_pack(site, driver, demo,
                                                                                     tmp_path):
    walk = Walk(driver, site)
    december = Period.objects.get(organisation=demo, code="2026-12")
    refused, rates = tmp_path / "rates-refused.csv", tmp_path / "rates-2026-12.csv"
    refused.write_text(REFUSED)
    rates.write_text(RATES)
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    # December's rates, from a file: a file holding a rate already held is refused whole, row named.
    log_in(walk, "controller")
    walk.open("/admin/consolidation/fxrate/", "FX rates")
    walk.click(walk.css("#rates-upload-link"), "rate upload form")
    upload(walk, demo, refused, "upload a file with a held rate (refused)")
    problems = [[td.text for td in tr.find_elements("css selector", "td")]
                for tr in walk.all("#rate-problems tbody tr")]
    assert [p[:3] for p in problems] == [["3", "date", "30 Nov 2026"]], problems
    assert problems[0][3].startswith("The organisation already holds this rate")
    assert not FxRate.objects.filter(organisation=demo, rate_date=DECEMBER, rate_type="closing").exists()
    upload(walk, demo, rates, "upload December's rates")
    assert walk.messages() == ["4 rates loaded from rates-2026-12.csv."]
    assert FxRate.objects.filter(organisation=demo, rate_date=DECEMBER).exclude(rate_type="historical").count() == 4

    # Consolidate December from the group list.
    from selenium.webdriver.support.ui import Select

    walk.open("/admin/consolidation/consolidationgroup/", "consolidation groups")
    walk.click(driver.find_element("link text", "consolidate"), "consolidate form")
    Select(walk.css("#id_periods")).select_by_visible_text("2026-12")
    walk.click(walk.css("#consolidate-form input[type=submit]"), "consolidate December (the job runs inline)")
    run = ConsolidationRun.objects.get(group__organisation=demo, period=december)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert walk.messages() == [f"Queued run {run.pk} (2026-12)."]
    assert walk.css("#run-status strong").text == "Succeeded"
    assert Decimal(run.results["translation"]["UK"]["closing_rate"]) == Decimal("1.1620")  # the uploaded rate
    receivable = next(line.amount for line in statements(run, accounts_by_code(run)).assets if line.code == "1200")
    assert receivable > 0
    assert f"1200 Trade receivables {receivable}" in walk.css("#balance-sheet").text

    # Drill: consolidated receivables -> UK's translated balance -> its ledger lines -> a file row.
    walk.click(walk.css("#balance-sheet a[href$='/accounts/1200/']"), "figure: consolidated 1200")
    assert walk.css("#figure-amount").text == str(run.results["consolidated_tb"]["1200"])
    walk.click(walk.css("#components a[href$='/members/UK/']"), "member: UK on 1200")
    assert walk.css("#translated-amount").text == str(member_figure(run, "1200", "UK")["translated"])
    source = walk.all("#ledger-lines a.source-row")[-1]
    batch_id, row = map(int, re.fullmatch(r"import (\d+) row (\d+)", source.text).groups())
    line = JournalLine.objects.select_related("entity", "account").get(import_batch_id=batch_id, source_row=row,
                                                                        account__code="1200")
    batch = ImportBatch.objects.get(pk=batch_id)
    shipped = list(csv.reader(io.StringIO((FILES / batch.file_name).read_bytes().decode("cp1252"), newline=""),
                              delimiter=";"))
    assert line.entity.code == "UK" and json.loads(line.source_raw) == shipped[row - 1]  # the exact file row
    raw_shown = source.find_element("xpath", "following-sibling::code").text
    assert raw_shown == line.source_raw or (raw_shown.endswith("…") and line.source_raw.startswith(raw_shown[:-1]))
    walk.click(source, "import batch of the file row")
    assert batch.file_name in walk.css("#content").text

    # The intercompany difference of the year (FR booked HOLD's September fee short) is explained.
    walk.open(f"/admin/consolidation/consolidationrun/{run.pk}/change/", "run page (again)")
    open_pairs = list(IcDifference.objects.filter(group=run.group, period=december, status="open")
                      .select_related("account").order_by("account__code"))
    assert [d.account.code for d in open_pairs] == ["2250", "5200"], open_pairs  # FR: fee payable and fee expense
    difference = open_pairs[0]
    walk.click(walk.css(f"#ic-differences a[href$='/icdifference/{difference.pk}/change/']"),
               "intercompany difference")
    Select(walk.css("#id_action")).select_by_value("explain")
    walk.css("#id_text").send_keys("September fee invoice disputed by FR; credit note expected in January")
    walk.click(walk.css("#ic-action input[type=submit]"), "explain the difference")
    assert walk.messages() == ["Explain: done."]
    assert walk.css("#ic-status").text == "Explained"
    difference.refresh_from_db()
    assert difference.status == "explained"

    # The board pack, downloaded through the run page's link and read back.
    walk.click(walk.css(f"#ic-difference a[href$='/consolidationrun/{run.pk}/change/']"), "run page")
    path = download(driver, driver.find_element("link text", "board pack (XLSX)"), downloads)
    book = load_workbook(path)
    cover = {r[0]: r[1] for r in book["Cover"].iter_rows(values_only=True) if r and r[0]}
    assert (cover["run"], cover["period"], cover["fingerprint"]) == (run.pk, "2026-12", run.fingerprint)
    assert cover["comparatives"] == "Prior period (2026-11)"
    bs = {r[0]: r for r in book["BS"].iter_rows(values_only=True) if r and r[0]}
    assert (bs["1200"][1], Decimal(str(bs["1200"][2]))) == ("Trade receivables", receivable)
    formulas = [c.value for row in load_workbook(path, data_only=False)["Members"].iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("=SUM(")]
    assert formulas  # live totals, values cached beside them
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]
    assert errors == [], "\n".join(e["message"][:200] for e in errors)
