"""The controller's journal walk in a real browser (issue 16): a preparer pastes an accrual from
a spreadsheet into the grid, saves and submits it; their own approval is refused on the page;
entering an entry into a locked month is refused on the form; they void a duplicate draft with a
reason; an approver approves and posts the accrual. Every step goes through the services."""
from __future__ import annotations

import time
import urllib.request
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from ledger.inputs import EntryInput, LineInput
from ledger.models import Balance, EntryStatus, JournalEntry
from ledger.services.entries import journal_entry_create
from sheshi.access.services.grants import role_grant
from tests.browser.conftest import TIMES
from tests.factories import PASSWORD, user_with_role
from tests.ledger.helpers import build_world
from tests.locking import lock_through

pytestmark = pytest.mark.browser

ACCRUAL_ROWS = ("5100\t300.00\t\tAudit fee: fieldwork\n"
                "5100\t400.00\t\tAudit fee: group reporting\n"
                "5100\t250.00\t\tAudit fee: expenses\n"
                "5100\t300.00\t\tAudit fee: sign-off\n"
                "2100\t\t1,250.00\tAccrued audit fee\n")
LATE_ROWS = "5100\t80.00\t\tLate February invoice\n2100\t\t80.00\tSupplier\n"
PASTE_JS = """const dt = new DataTransfer(); dt.setData('text/plain', arguments[1]);
arguments[0].focus();
arguments[0].dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));"""
TIMING_JS = """const n = performance.getEntriesByType('navigation')[0];
return n ? [n.responseEnd - n.requestStart, n.loadEventEnd - n.startTime] : [0, 0];"""


class Walk:
    def __init__(self, driver, url: str):
        self.d, self.url = driver, url

    def _settled(self, old, label: str, started: float) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        wait = WebDriverWait(self.d, 30)
        if old is not None:
            wait.until(lambda d: d.find_element("tag name", "html").id != old)
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        server, load = self.d.execute_script(TIMING_JS)
        TIMES.rows.append((label, (time.perf_counter() - started) * 1000, server, load))

    def open(self, path: str, label: str) -> None:
        started = time.perf_counter()
        self.d.get(self.url + path)
        self._settled(None, label, started)

    def click(self, element, label: str) -> None:
        old, started = self.d.find_element("tag name", "html").id, time.perf_counter()
        element.click()
        self._settled(old, label, started)

    def css(self, selector: str):
        return self.d.find_element("css selector", selector)

    def all(self, selector: str):
        return self.d.find_elements("css selector", selector)

    def messages(self) -> list[str]:
        return [li.text for li in self.all("ul.messagelist li")]

    def log_in(self, username: str) -> None:
        self.d.delete_all_cookies()
        self.open("/admin/login/", f"login page ({username})")
        self.css("#id_username").send_keys(username)
        self.css("#id_password").send_keys(PASSWORD)
        self.click(self.css("input[type=submit]"), f"log in ({username})")
        assert "Log out" in self.d.page_source or "log out" in self.d.page_source.lower()

    def action(self, entry_ids: list[int], action: str, label: str) -> None:
        from selenium.webdriver.support.ui import Select

        self.open("/admin/ledger/journalentry/", f"journal list before {label}")
        for pk in entry_ids:
            self.css(f"input[name=_selected_action][value='{pk}']").click()
        Select(self.css("select[name=action]")).select_by_value(action)
        self.click(self.css("button[name=index]"), label)


def staff(world, username: str, *roles: str):
    user = user_with_role(world.entity, roles[0], username=username)
    for role in roles[1:]:
        role_grant(actor=None, user=user, entity=world.entity, role=role)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="ledger",
                                                         codename__startswith="view_"))
    return user


@pytest.fixture
def setting(transactional_db):
    """WALK-DE needs a second person's approval for manual entries; January and February 2026 are
    locked; a duplicate April draft waits to be voided."""
    world = build_world("WALK")
    world.entity.approval_required_sources = ["manual"]
    world.entity.save()
    # The preparer may also approve (as a controller may): only segregation of duties stops them.
    preparer = staff(world, "preparer", "preparer", "approver")
    staff(world, "approver", "approver")
    lock_through(actor=None, entity_period_id=world.entity_period("2026-02").pk)
    duplicate = journal_entry_create(actor=preparer, entity=world.entity, entry=EntryInput(
        entry_date=date(2026, 4, 30), description="Accrued audit fee (entered twice)", lines=[
            LineInput(account_id=world.acc("5100"), amount=Decimal(1250)),
            LineInput(account_id=world.acc("2100"), amount=Decimal(-1250))])).entry
    return world, duplicate


def test_preparer_and_approver_walk_the_journal_close(site, driver, setting):
    world, duplicate = setting
    walk = Walk(driver, site)
    with urllib.request.urlopen(site + "/admin/login/") as response:
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]

    # The preparer enters an accrual by pasting spreadsheet rows into the grid.
    walk.log_in("preparer")
    walk.open("/admin/ledger/journalentry/add/", "journal entry form")
    driver.execute_script("arguments[0].value = '2026-04-30'", walk.css("#id_entry_date"))
    walk.css("#id_description").send_keys("Accrued audit fee, April 2026")
    walk.css("#id_reference").send_keys("ACC-2026-04")
    driver.execute_script(PASTE_JS, walk.css("#id_lines-0-account"), ACCRUAL_ROWS)
    assert len(walk.all("#je-lines tbody tr.je-row")) == 5  # four rows shown, a fifth added by the paste
    assert walk.css("#id_lines-4-credit").get_attribute("value") == "1250.00"
    assert walk.css("#je-total-debit").text == "1,250.00"
    assert walk.css("#je-difference").text == "0.00"
    assert "je-balanced" in walk.css("#je-difference").get_attribute("class")
    # Keyboard only: Enter in the last memo opens a sixth line; typing into it moves the difference.
    from selenium.webdriver.common.keys import Keys

    walk.css("#id_lines-4-memo").send_keys(Keys.ENTER)
    assert driver.switch_to.active_element.get_attribute("id") == "id_lines-5-memo"
    walk.css("#id_lines-5-debit").send_keys("5")
    assert walk.css("#je-difference").text == "5.00"
    walk.css("#id_lines-5-debit").send_keys(Keys.BACK_SPACE)
    assert walk.css("#je-difference").text == "0.00"
    walk.click(walk.css("#je-submit"), "save and submit")
    entry = JournalEntry.objects.exclude(pk=duplicate.pk).get()
    assert walk.messages() == [f"Draft entry {entry.pk} saved.", f"Entry {entry.pk} submitted for approval."]
    assert not walk.all("input[name=_save]")  # submitted: read-only, no Save
    assert (entry.status, entry.reference, entry.lines.count()) == (EntryStatus.SUBMITTED, "ACC-2026-04", 5)

    # An entry dated in locked February is refused on the form, and nothing is saved.
    walk.open("/admin/ledger/journalentry/add/", "journal entry form (locked month)")
    driver.execute_script("arguments[0].value = '2026-02-27'", walk.css("#id_entry_date"))
    walk.css("#id_description").send_keys("Late February invoice")
    driver.execute_script(PASTE_JS, walk.css("#id_lines-0-account"), LATE_ROWS)
    walk.click(walk.css("#je-submit"), "save into a locked month (refused)")
    assert f"Period 2026-02 is locked for entity {world.entity.code}" in walk.css("#content").text
    assert JournalEntry.objects.count() == 2

    # Their own approval is refused, with the reason on the page.
    walk.action([entry.pk], "approve", "approve own entry (refused)")
    assert walk.messages() == [f"Entry {entry.pk} was not approved: You prepared entry {entry.pk}; "
                               "someone else must approve it."]

    # The duplicate draft is voided with a reason, after a confirmation page.
    walk.action([duplicate.pk], "void_entries", "void: confirmation page")
    walk.click(walk.css("#je-void-confirm"), "void without a reason (refused)")
    assert "This field is required." in walk.css("#content").text
    walk.css("#id_reason").send_keys("Entered twice: ACC-2026-04 is the accrual")
    walk.click(walk.css("#je-void-confirm"), "void with a reason")
    assert walk.messages() == ["1 entry voided."]

    # The approver approves and posts the accrual.
    walk.log_in("approver")
    walk.action([entry.pk], "approve", "approve")
    assert walk.messages() == ["1 entry approved."]
    walk.action([entry.pk], "post", "post")
    assert walk.messages() == ["1 entry posted."]
    walk.open(f"/admin/ledger/journalentry/{entry.pk}/change/", "posted entry (read-only)")
    assert not walk.all("input[name=_save]") and "View journal entry" in driver.page_source

    statuses = dict(JournalEntry.objects.values_list("pk", "status"))
    assert statuses == {entry.pk: EntryStatus.POSTED, duplicate.pk: EntryStatus.VOID}
    assert sorted(Balance.objects.values_list("functional_debit", "functional_credit")) == [
        (Decimal("0"), Decimal("1250")), (Decimal("1250"), Decimal("0"))]
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]
    assert errors == []  # no script refused by the policy, no script error
