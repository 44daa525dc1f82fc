"""The accrual walk in a real browser (issue 16): a preparer pastes an auto-reversing accrual into
the grid, attaches the supplier's invoice and comments on the draft, submits it, keeps it as a
template and has it repeat monthly; an approver works the "Awaiting my approval" inbox (bulk
approve, then bulk post after the confirmation page), finds the accrual's reversal drafted on the
first day of May and downloads the invoice, whose SHA-256 matches the page; May's entry drafted
from the recurrence ("Draft a month now", as the daily schedule would) is listed with the reversal.
Every step goes through the services; page timings are reported with the other walks'."""
from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from ledger.inputs import EntryInput, LineInput
from ledger.models import EntrySource, EntryStatus, JournalEntry, JournalEntryAttachment, JournalRecurrence
from ledger.services.entries import journal_entry_create, journal_entry_submit
from tests.browser.test_journal_walk import PASTE_JS, Walk, staff
from tests.ledger.helpers import build_world

pytestmark = pytest.mark.browser

ACCRUAL_ROWS = ("5100\t900.00\t\tAudit fee April: fieldwork\n"
                "5100\t350.00\t\tAudit fee April: expenses\n"
                "2100\t\t1,250.00\tAccrued audit fee\n")
# A small PDF, as a scanned invoice would arrive.
INVOICE = b"%PDF-1.4\n% Sheshi walk: audit fee invoice INV-2026-0417, 1,250.00 EUR\n%%EOF\n"
TEMPLATE = "Monthly audit fee accrual"


def select_action(walk: Walk, ids: list[int], action: str, label: str) -> None:
    """On the change list already open: tick the rows and run the action."""
    from selenium.webdriver.support.ui import Select

    for pk in ids:
        walk.css(f"input[name=_selected_action][value='{pk}']").click()
    Select(walk.css("select[name=action]")).select_by_value(action)
    walk.click(walk.css("button[name=index]"), label)


def inbox_rows(walk: Walk) -> dict[int, list[str]]:
    rows = {}
    for tr in walk.all("#je-inbox tbody tr"):
        cells = [td.text for td in tr.find_elements("css selector", "td")]
        rows[int(cells[1])] = cells[2:]
    return rows


@pytest.fixture
def accrual_setting(transactional_db):
    """ACCR-DE needs a second person's approval for manual entries. The preparer has already
    submitted April's rent accrual, so the approver's inbox holds two entries once the audit fee
    is submitted."""
    world = build_world("ACCR")
    world.entity.approval_required_sources = ["manual"]
    world.entity.save()
    preparer = staff(world, "preparer", "preparer")
    staff(world, "approver", "approver")
    rent = journal_entry_create(actor=preparer, entity=world.entity, entry=EntryInput(
        entry_date=date(2026, 4, 30), description="Rent April 2026", reference="RENT-2026-04", lines=[
            LineInput(account_id=world.acc("5100"), amount=Decimal(2000)),
            LineInput(account_id=world.acc("1200"), amount=Decimal(-2000))])).entry
    journal_entry_submit(actor=preparer, entry_id=rent.pk)
    return world, rent


def test_accrual_with_invoice_inbox_bulk_post_reversal_and_recurrence(site, driver, accrual_setting, tmp_path):
    _world, rent = accrual_setting
    walk = Walk(driver, site)
    invoice = tmp_path / "INV-2026-0417.pdf"
    invoice.write_bytes(INVOICE)
    sha = hashlib.sha256(INVOICE).hexdigest()

    # The preparer pastes the accrual, ticks "Reverse automatically" and saves a draft.
    walk.log_in("preparer")
    walk.open("/admin/ledger/journalentry/add/", "journal entry form (accrual)")
    driver.execute_script("arguments[0].value = '2026-04-30'", walk.css("#id_entry_date"))
    walk.css("#id_description").send_keys("Accrued audit fee, April 2026")
    walk.css("#id_reference").send_keys("AUD-2026-04")
    walk.css("#id_auto_reverse").click()
    driver.execute_script(PASTE_JS, walk.css("#id_lines-0-account"), ACCRUAL_ROWS)
    assert walk.css("#id_lines-2-credit").get_attribute("value") == "1250.00"
    assert (walk.css("#je-total-debit").text, walk.css("#je-difference").text) == ("1,250.00", "0.00")
    walk.click(walk.css("#je-save"), "save accrual draft")
    accrual = JournalEntry.objects.exclude(pk=rent.pk).get()
    assert walk.messages() == [f"Draft entry {accrual.pk} saved."]
    # The reversal date the service chose: the first day of the next period, shown on the draft.
    assert walk.css("#id_auto_reverse").is_selected()
    assert walk.css("#id_reverse_on").get_attribute("value") == "2026-05-01"

    # The invoice and a comment go onto the draft's page; then it is submitted.
    walk.css("#je-attach-form input[type=file]").send_keys(str(invoice))
    walk.click(walk.css("#je-attach"), "attach invoice")
    assert walk.messages() == [f"“INV-2026-0417.pdf” attached (SHA-256 {sha[:12]}…)."]
    walk.css("#je-comment-form textarea").send_keys("Fee agreed with the auditors on 28 April; invoice attached.")
    walk.click(walk.css("#je-comment"), "comment on the draft")
    assert walk.messages() == ["Comment added."]
    assert "Fee agreed with the auditors on 28 April; invoice attached." in walk.css("#je-comments").text
    walk.click(walk.css("#je-submit"), "save and submit accrual")
    assert walk.messages() == [f"Draft entry {accrual.pk} saved.", f"Entry {accrual.pk} submitted for approval."]
    accrual.refresh_from_db()
    assert (accrual.status, accrual.reverse_on, accrual.lines.count()) == (EntryStatus.SUBMITTED, date(2026, 5, 1), 3)
    assert walk.css("#je-attachments code").get_attribute("title") == sha  # kept through the re-save

    # The accrual is kept as a template, and the template repeats monthly from May to July.
    walk.open("/admin/ledger/journalentry/", "journal list (preparer)")
    select_action(walk, [accrual.pk], "save_as_template", "save as template: name page")
    walk.css("#id_name").send_keys(TEMPLATE)
    walk.click(walk.css("#je-template-confirm"), "save the template")
    assert walk.messages() == [f"Template “{TEMPLATE}” saved from entry {accrual.pk}."]
    walk.open("/admin/ledger/journaltemplate/", "journal templates")
    template_pk = int(walk.css("input[name=_selected_action]").get_attribute("value"))
    select_action(walk, [template_pk], "set_up_recurrence", "repeat monthly: form")
    from selenium.webdriver.support.ui import Select

    Select(walk.css("#id_start_period")).select_by_visible_text("2026-05")
    Select(walk.css("#id_end_period")).select_by_visible_text("2026-07")
    walk.click(walk.css("#je-recurrence-set-up"), "set up the recurrence")
    assert walk.messages() == [f"“{TEMPLATE}” repeats monthly from 2026-05: its drafts are yours, for someone "
                               "else to approve."]
    recurrence = JournalRecurrence.objects.get()
    assert (recurrence.template_id, recurrence.owner.username, recurrence.day_of_month) == (
        template_pk, "preparer", None)

    # "Draft a month now" on the recurrence does what the daily schedule would for May.
    walk.open("/admin/ledger/journalrecurrence/", "journal recurrences")
    select_action(walk, [recurrence.pk], "draft_month", "draft a month now: form")
    Select(walk.css("#id_period")).select_by_visible_text("2026-05")
    walk.click(walk.css("#je-recurrence-draft"), "draft May")
    assert walk.messages() == ["2026-05: 1 draft(s) made."]

    # The approver works the inbox: both April entries approved, then posted after confirmation.
    walk.log_in("approver")
    walk.click(driver.find_element("link text", "Awaiting my approval"), "awaiting my approval")
    rows = inbox_rows(walk)
    assert sorted(rows) == sorted([rent.pk, accrual.pk])
    assert rows[accrual.pk][3:] == ["Accrued audit fee, April 2026", "preparer", "Submitted"]
    for pk in rows:
        walk.css(f"#je-inbox input[name=entries][value='{pk}']").click()
    walk.click(walk.css("#je-inbox-approve"), "approve selected: confirmation page")
    assert [li.text.rsplit(" · ", 1)[-1] for li in walk.all(".je-inbox-list li")] == ["will be approved"] * 2
    walk.click(walk.css("#je-inbox-confirm"), "approve: confirmed")
    assert walk.messages() == ["2 entries approved."]
    assert [r[-1] for r in inbox_rows(walk).values()] == ["Approved", "Approved"]
    for pk in rows:
        walk.css(f"#je-inbox input[name=entries][value='{pk}']").click()
    walk.click(walk.css("#je-inbox-post"), "post selected: confirmation page")
    assert "all or none" in walk.css("#je-inbox-rule").text
    assert [li.text.rsplit(" · ", 1)[-1] for li in walk.all(".je-inbox-list li")] == ["will be posted"] * 2
    walk.click(walk.css("#je-inbox-confirm"), "post: confirmed")
    assert walk.messages() == ["2 entries posted."]
    assert walk.css("#je-inbox-empty").text == "Nothing awaits your approval."

    # The posted accrual: its reversal drafted on 1 May, and the invoice as it was uploaded.
    reversal = JournalEntry.objects.get(reverses=accrual)
    assert (reversal.status, reversal.source, reversal.entry_date, reversal.period.code) == (
        EntryStatus.DRAFT, EntrySource.REVERSAL, date(2026, 5, 1), "2026-05")
    walk.open(f"/admin/ledger/journalentry/{accrual.pk}/change/", "posted accrual")
    assert walk.css(".field-status .readonly").text == "Posted"
    assert walk.css(".field-reverse_on .readonly").text == "1 May 2026"
    shown = walk.css("#je-reversal")
    assert shown.text == f"Entry {reversal.pk} (Draft, 1 May 2026)"
    assert shown.get_attribute("href").endswith(f"/admin/ledger/journalentry/{reversal.pk}/change/")
    link = walk.css("#je-attachments a")
    assert link.text == "INV-2026-0417.pdf"
    assert walk.css("#je-attachments code").get_attribute("title") == sha
    import requests

    session = requests.Session()
    for cookie in driver.get_cookies():
        session.cookies.set(cookie["name"], cookie["value"])
    response = session.get(link.get_attribute("href"), timeout=30)
    assert response.status_code == 200, response.text[:300]
    assert "INV-2026-0417.pdf" in response.headers["Content-Disposition"]
    assert hashlib.sha256(response.content).hexdigest() == sha
    assert JournalEntryAttachment.objects.get().sha256 == sha
    assert AuditEvent.objects.get(action="journal_entry.attachment_added").changes["sha256"] == sha

    # Both May drafts — the accrual's reversal and the recurrence's entry — are in the list.
    walk.open("/admin/ledger/journalentry/?status__exact=draft", "journal list: drafts")
    drafted = JournalEntry.objects.get(source=EntrySource.RECURRING, status=EntryStatus.DRAFT)
    assert recurrence.runs.get().entry_id == drafted.pk
    listed = {int(tr.find_element("css selector", ".field-id").text): [
        tr.find_element("css selector", f".field-{name}").text
        for name in ("period", "entry_date", "description", "source", "status", "created_by")]
        for tr in walk.all("#result_list tbody tr")}
    assert listed == {
        reversal.pk: ["2026-05", "1 May 2026", f"Reversal of accrual {accrual.pk}: Accrued audit fee, April 2026",
                      "System: reversal", "Draft", "preparer"],
        drafted.pk: ["2026-05", "31 May 2026", "Accrued audit fee, April 2026", "Recurring", "Draft", "preparer"]}
    assert list(drafted.lines.order_by("line_no").values_list("account__code", "amount")) == [
        ("5100", Decimal("900.0000")), ("5100", Decimal("350.0000")), ("2100", Decimal("-1250.0000"))]
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]
    assert errors == [], "\n".join(e["message"][:200] for e in errors)
