"""Admin pages: scoped to the caller's entities; workflow actions go through the services."""
from dataclasses import replace
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from ledger.models import Account, EntryStatus, JournalEntry
from ledger.services.entries import journal_entry_create, journal_entry_create_and_post, journal_entry_submit
from sheshi.access.services.grants import role_grant
from tests.factories import member, user_with_role
from tests.locking import lock_through

pytestmark = pytest.mark.django_db


def staff(world, role):
    user = user_with_role(world.entity, role)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="ledger"))
    return user


def test_trial_balance_page_shows_reconciled_figures(client, world):
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("42"))
    client.force_login(staff(world, "viewer"))
    page = client.get(f"/admin/ledger/balance/trial-balance/?entity={world.entity.code}&period=2026-03")
    assert page.status_code == 200
    html = page.content.decode()
    assert "reconciles: debits = credits = 42.00<" in html
    from audit.models import AuditEvent

    assert AuditEvent.objects.filter(organisation_id=world.org.pk, action="report.read",
                                     object_id=f"{world.entity.code}/2026-03").count() == 1


def test_trial_balance_page_shows_each_periods_state(client, world):
    """Issue #15: the trial-balance page never showed a period's state."""
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("42"))
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    client.force_login(staff(world, "viewer"))
    html = client.get(f"/admin/ledger/balance/trial-balance/?entity={world.entity.code}&period=2026-03"
                      ).content.decode()
    assert '<strong id="period-state">Locked</strong>' in html
    assert '<option value="2026-03" selected>2026-03 (locked)</option>' in html
    assert '<option value="2026-04">2026-04 (open)</option>' in html


def test_trial_balance_page_refuses_other_entities(client, world):
    client.force_login(staff(world, "viewer"))
    assert client.get(f"/admin/ledger/balance/trial-balance/?entity={world.other.code}&period=2026-03"
                      ).status_code == 403


def test_journal_list_is_scoped_and_post_action_uses_the_service(client, world):
    mine = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("7")).entry
    theirs = journal_entry_create(actor=None, entity=world.other, entry=world.sale("8")).entry
    client.force_login(staff(world, "controller"))
    listing = client.get("/admin/ledger/journalentry/").content.decode()
    assert f">{mine.pk}<" in listing and f">{theirs.pk}<" not in listing
    client.post("/admin/ledger/journalentry/", {"action": "post", "_selected_action": [mine.pk, theirs.pk]})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == (EntryStatus.POSTED, EntryStatus.DRAFT)


# ---- the journal entry form, void and refusals as sentences (issue 16) --------------------------

def grid_post(world, rows, **header):
    data = {"entity": world.entity.pk, "entry_date": "2026-04-30", "period": "", "description": "Accrued audit fee",
            "reference": "ACC-04", "lines-TOTAL_FORMS": len(rows), "lines-INITIAL_FORMS": 0,
            "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 1000, **header}
    for i, row in enumerate(rows):
        for name, value in zip(["account", "debit", "credit", "currency", "rate", "memo"], row, strict=False):
            data[f"lines-{i}-{name}"] = value
    return data


def test_the_entry_form_renders_with_its_script_as_a_static_file(client, world):
    client.force_login(staff(world, "preparer"))
    page = client.get("/admin/ledger/journalentry/add/")
    html = page.content.decode()
    assert page.status_code == 200 and "Enter a journal entry" in html
    assert 'src="/static/ledger/journal_grid.js"' in html
    assert "<script>" not in html and "<script type" not in html  # nothing inline: CSP allows none
    assert '<option value="5100">' in html and '<option value="1000">' not in html  # posting accounts only


def test_saving_the_form_creates_a_draft_through_the_service(client, world):
    preparer = staff(world, "preparer")
    client.force_login(preparer)
    response = client.post("/admin/ledger/journalentry/add/", grid_post(world, [
        ("5100", "1,250.00", "", "", "", "audit fee"), ("Payables", "", "1250", "", "", "accrual"), ("", "", "")]))
    entry = JournalEntry.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/ledger/journalentry/{entry.pk}/change/"
    assert (entry.status, entry.created_by_id, entry.reference, entry.period.code) == (
        EntryStatus.DRAFT, preparer.pk, "ACC-04", "2026-04")
    assert list(entry.lines.values_list("account__code", "amount", "memo")) == [
        ("5100", Decimal("1250.0000"), "audit fee"), ("2100", Decimal("-1250.0000"), "accrual")]


def test_save_and_submit_submits_the_new_draft(client, world):
    client.force_login(staff(world, "preparer"))
    client.post("/admin/ledger/journalentry/add/", {**grid_post(world, [("5100", "10", ""), ("2100", "", "10")]),
                                                   "_submit": "1"})
    assert JournalEntry.objects.get().status == EntryStatus.SUBMITTED


def test_an_unbalanced_entry_comes_back_with_the_error_and_nothing_is_saved(client, world):
    client.force_login(staff(world, "preparer"))
    page = client.post("/admin/ledger/journalentry/add/", grid_post(world, [("5100", "10", ""), ("2100", "", "9")]))
    html = page.content.decode()
    assert page.status_code == 200 and "Functional amounts sum to 1.0000, not 0." in html
    assert JournalEntry.objects.count() == 0


def test_line_errors_are_shown_on_their_line(client, world):
    client.force_login(staff(world, "preparer"))
    page = client.post("/admin/ledger/journalentry/add/", grid_post(world, [
        ("9999", "10", ""), ("1000", "", "10"), ("2100", "5", "5")]))
    html = page.content.decode()
    assert "No account with the code or name “9999”." in html
    assert "Enter a debit or a credit on a line, not both." in html
    assert JournalEntry.objects.count() == 0
    page = client.post("/admin/ledger/journalentry/add/", grid_post(world, [("1000", "10", ""), ("2100", "", "10")]))
    assert "Account 1000 does not take postings (group or inactive account)." in page.content.decode()
    assert page.content.decode().count("je-row je-row-errors") == 1


def test_a_draft_is_edited_through_the_update_service(client, world):
    preparer = staff(world, "preparer")
    entry = journal_entry_create(actor=preparer, entity=world.entity, entry=world.sale("30")).entry
    client.force_login(preparer)
    page = client.get(f"/admin/ledger/journalentry/{entry.pk}/change/").content.decode()
    assert f"Edit draft entry {entry.pk}" in page and 'value="1200"' in page and 'value="30.0000"' in page
    client.post(f"/admin/ledger/journalentry/{entry.pk}/change/", grid_post(
        world, [("5100", "12", ""), ("2100", "", "12")], entry_date="2026-03-31"))
    entry.refresh_from_db()
    assert (entry.description, entry.period.code, entry.status) == ("Accrued audit fee", "2026-03", EntryStatus.DRAFT)
    assert list(entry.lines.values_list("account__code", "amount")) == [("5100", Decimal("12.0000")),
                                                                        ("2100", Decimal("-12.0000"))]


def test_a_posted_entry_is_read_only_without_save_or_revert(client, world):
    entry = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("42")).entry
    client.force_login(staff(world, "controller"))
    page = client.get(f"/admin/ledger/journalentry/{entry.pk}/change/").content.decode()
    assert "View journal entry" in page and 'name="_save"' not in page and 'name="_continue"' not in page
    assert client.post(f"/admin/ledger/journalentry/{entry.pk}/change/", {"description": "x"}).status_code == 403
    version = entry.history.first().history_id
    history = client.get(f"/admin/ledger/journalentry/{entry.pk}/history/{version}/").content.decode()
    assert "Revert" not in history
    assert client.post(f"/admin/ledger/journalentry/{entry.pk}/history/{version}/",
                       {"description": "x"}).status_code == 403
    entry.refresh_from_db()
    assert entry.description == "Sale 42"


def test_void_asks_for_a_reason_then_voids_through_the_service(client, world):
    preparer = staff(world, "preparer")
    entry = journal_entry_create(actor=preparer, entity=world.entity, entry=world.sale("30")).entry
    client.force_login(preparer)
    action = {"action": "void_entries", "_selected_action": [entry.pk]}
    page = client.post("/admin/ledger/journalentry/", action)
    assert page.status_code == 200 and "Void these entries?" in page.content.decode()
    page = client.post("/admin/ledger/journalentry/", {**action, "confirm_void": "1", "reason": " "})
    assert "This field is required." in page.content.decode()
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DRAFT
    page = client.post("/admin/ledger/journalentry/", {**action, "confirm_void": "1", "reason": "entered twice"},
                       follow=True)
    entry.refresh_from_db()
    assert (entry.status, entry.void_reason) == (EntryStatus.VOID, "entered twice")
    assert "1 entry voided." in page.content.decode()


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_self_approval_is_refused_with_a_sentence(client, world):
    controller = staff(world, "controller")
    entry = journal_entry_create(actor=controller, entity=world.entity, entry=world.sale("30")).entry
    client.force_login(controller)
    client.post("/admin/ledger/journalentry/", {"action": "submit", "_selected_action": [entry.pk]}, follow=True)
    page = client.post("/admin/ledger/journalentry/", {"action": "approve", "_selected_action": [entry.pk]},
                       follow=True)
    assert messages_of(page) == [
        f"Entry {entry.pk} was not approved: You prepared entry {entry.pk}; someone else must approve it."]


def test_missing_permission_and_wrong_status_read_as_sentences(client, world):
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    preparer = staff(world, "preparer")
    role_grant(actor=None, user=preparer, entity=world.other, role="approver")  # approve is offered, not here
    client.force_login(preparer)
    page = client.post("/admin/ledger/journalentry/", {"action": "approve", "_selected_action": [entry.pk]},
                       follow=True)
    assert messages_of(page) == [f"Entry {entry.pk} was not approved: You are not allowed to approve or post "
                                 f"journal entries for entity {world.entity.code}."]
    page = client.post("/admin/ledger/journalentry/", {"action": "reverse", "_selected_action": [entry.pk],
                                                       "confirm_reverse": "1"}, follow=True)
    assert messages_of(page) == [f"Entry {entry.pk} was not reversed: it is draft; only posted entries can be "
                                 "reversed."]


def test_reverse_asks_for_the_date_and_the_reversal_awaits_approval(client, world):
    from datetime import date

    entry = journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("42")).entry
    client.force_login(staff(world, "preparer"))
    action = {"action": "reverse", "_selected_action": [entry.pk]}
    page = client.post("/admin/ledger/journalentry/", action)
    html = page.content.decode()
    assert "Reversal date" in html and "created <strong>submitted</strong>" in html and f"Entry {entry.pk}" in html
    assert not JournalEntry.objects.filter(reverses=entry).exists()  # nothing yet
    page = client.post("/admin/ledger/journalentry/", {**action, "confirm_reverse": "1", "entry_date": "",
                                                       "period": "2026-05"}, follow=True)
    assert messages_of(page) == ["1 entry reversed."]
    reversal = JournalEntry.objects.get(reverses=entry)
    assert (reversal.status, reversal.entry_date) == (EntryStatus.SUBMITTED, date(2026, 5, 1))


def test_the_post_action_refuses_the_preparer_with_a_sentence(client, world):
    controller = staff(world, "controller")
    entry = journal_entry_create(actor=controller, entity=world.entity, entry=world.sale("30")).entry
    client.force_login(controller)
    page = client.post("/admin/ledger/journalentry/", {"action": "post", "_selected_action": [entry.pk]},
                       follow=True)
    assert messages_of(page) == [f"Entry {entry.pk} was not posted: You prepared entry {entry.pk}; someone else "
                                 "must post it."]


def test_an_entry_into_a_locked_period_is_refused_with_a_sentence(client, world):
    """Issue #15: nothing is created in a locked period (before, a draft was accepted and failed
    only at posting)."""
    lock_through(actor=None, entity_period_id=world.entity_period("2026-02").pk)
    client.force_login(staff(world, "preparer"))
    page = client.post("/admin/ledger/journalentry/add/", grid_post(world, [("5100", "5", ""), ("2100", "", "5")],
                                                                    entry_date="2026-02-10")).content.decode()
    assert f"Period 2026-02 is locked for entity {world.entity.code}" in page
    assert not JournalEntry.objects.exists()


def test_a_draft_with_counterparties_and_dimensions_opens_in_the_grid(client, world):
    """Issue 16: the grid has counterparty and dimensions columns, so such a draft is edited there
    (it was read-only with a note before)."""
    preparer = staff(world, "preparer")
    sale = world.sale("30")
    lines = [replace(sale.lines[0], counterparty_id=world.other.pk, dimensions={"department": "SALES"}),
             sale.lines[1]]
    entry = journal_entry_create(actor=preparer, entity=world.entity, entry=replace(sale, lines=lines)).entry
    client.force_login(preparer)
    html = client.get(f"/admin/ledger/journalentry/{entry.pk}/change/").content.decode()
    assert f"Edit draft entry {entry.pk}" in html and 'name="_save"' in html
    assert f'name="lines-0-counterparty" value="{world.other.code}"' in html
    assert 'name="lines-0-dimensions" value="department=SALES"' in html


def test_a_draft_whose_dimensions_the_grid_cannot_show_is_read_only_with_a_note(client, world):
    preparer = staff(world, "preparer")
    sale = world.sale("30")
    lines = [replace(sale.lines[0], dimensions={"a=b": "c;d"}), sale.lines[1]]
    entry = journal_entry_create(actor=preparer, entity=world.entity, entry=replace(sale, lines=lines)).entry
    client.force_login(preparer)
    html = client.get(f"/admin/ledger/journalentry/{entry.pk}/change/").content.decode()
    assert "View journal entry" in html and 'name="_save"' not in html
    assert "which the form cannot show" in html


def grid_post_with(world, rows, **header):
    """As grid_post, rows also carrying counterparty and dimensions (7th and 8th cells)."""
    data = grid_post(world, [r[:6] for r in rows], **header)
    for i, row in enumerate(rows):
        data[f"lines-{i}-counterparty"] = row[6] if len(row) > 6 else ""
        data[f"lines-{i}-dimensions"] = row[7] if len(row) > 7 else ""
    return data


def test_entry_form_saves_counterparty_and_dimensions_on_the_draft(client, world):
    client.force_login(staff(world, "preparer"))
    response = client.post("/admin/ledger/journalentry/add/", grid_post_with(world, [
        ("1200", "100", "", "", "", "recharge", world.other.code.lower(), "department=SALES; project = P-12"),
        ("4100", "", "100", "", "", "", "", ""), ("", "", "", "", "", "", "", "")]))
    entry = JournalEntry.objects.get()
    assert response.status_code == 302 and entry.status == EntryStatus.DRAFT
    assert list(entry.lines.order_by("line_no").values_list("counterparty_id", "dimensions")) == [
        (world.other.pk, {"department": "SALES", "project": "P-12"}), (None, {})]


def test_entry_form_edit_keeps_and_changes_counterparty_and_dimensions(client, world):
    preparer = staff(world, "preparer")
    sale = world.sale("30", day=world.period("2026-04").start_date)
    lines = [replace(sale.lines[0], counterparty_id=world.other.pk, dimensions={"department": "SALES"}),
             sale.lines[1]]
    entry = journal_entry_create(actor=preparer, entity=world.entity, entry=replace(sale, lines=lines)).entry
    client.force_login(preparer)
    response = client.post(f"/admin/ledger/journalentry/{entry.pk}/change/", grid_post_with(world, [
        ("1200", "30", "", "", "", "", world.other.code, "department=OPS"), ("4100", "", "30", "", "", "", "", "")],
        entry_date="2026-04-01"))
    assert response.status_code == 302
    assert list(entry.lines.order_by("line_no").values_list("counterparty_id", "dimensions")) == [
        (world.other.pk, {"department": "OPS"}), (None, {})]


def test_entry_form_refuses_a_bad_counterparty_or_dimension_naming_the_line(client, world):
    client.force_login(staff(world, "preparer"))
    page = client.post("/admin/ledger/journalentry/add/", grid_post_with(world, [
        ("1200", "100", "", "", "", "", "", ""),
        ("4100", "", "60", "", "", "", "NOPE", ""),
        ("4100", "", "40", "", "", "", world.entity.code, "department"),
    ]))
    html = page.content.decode()
    assert page.status_code == 200 and JournalEntry.objects.count() == 0
    assert 'id="je-line-errors"' in html
    assert f"Line 2, counterparty: No entity with the code “NOPE” in {world.org.name}." in html
    assert "Line 3, counterparty: The counterparty is another entity, not the entry&#x27;s own." in html
    assert ("Line 3, dimensions: “department” is not name=value (write dimensions as name=value; "
            "name=value).") in html
    assert "Line 1" not in html.split('id="je-line-errors"')[1].split("</ul>")[0]
    assert html.count("je-row je-row-errors") == 2


def test_entry_form_refuses_a_too_long_or_repeated_dimension(client, world):
    client.force_login(staff(world, "preparer"))
    page = client.post("/admin/ledger/journalentry/add/", grid_post_with(world, [
        ("1200", "100", "", "", "", "", "", "a=1; a=2"), ("4100", "", "100", "", "", "", "", f"b={'x' * 65}")]))
    html = page.content.decode()
    assert "Line 1, dimensions: The dimension “a” is given twice." in html
    assert "Line 2, dimensions: The dimension “b” is longer than 64 characters." in html
    assert JournalEntry.objects.count() == 0


def test_a_foreign_currency_line_is_converted_at_its_rate(client, world):
    client.force_login(staff(world, "preparer"))
    client.post("/admin/ledger/journalentry/add/", grid_post(world, [
        ("1200", "100", "", "usd", "0.9", "invoice in USD"), ("4100", "", "90", "", "", "")]))
    entry = JournalEntry.objects.get()
    assert list(entry.lines.values_list("currency", "amount", "rate", "functional_amount")) == [
        ("USD", Decimal("100.0000"), Decimal("0.900000000000"), Decimal("90.0000")),
        ("EUR", Decimal("-90.0000"), Decimal("1.000000000000"), Decimal("-90.0000"))]


def test_an_approver_sends_a_submitted_entry_back_to_draft(client, world):
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry
    client.force_login(staff(world, "approver"))
    page = client.post("/admin/ledger/journalentry/", {"action": "reject", "_selected_action": [entry.pk]},
                       follow=True)
    assert messages_of(page) == [f"Entry {entry.pk} was not sent back to draft: it is draft; only submitted or "
                                 "approved entries can be sent back to draft."]
    journal_entry_submit(actor=None, entry_id=entry.pk)
    page = client.post("/admin/ledger/journalentry/", {"action": "reject", "_selected_action": [entry.pk]},
                       follow=True)
    assert messages_of(page) == ["1 entry sent back to draft."]
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DRAFT


# ---- the chart of accounts goes through account_create / account_move (issue #20) ---------------

def account_form(world, **kw):
    return {"organisation": world.org.pk, "code": "6100", "name": "Travel", "type": "expense", "kind": "posting",
            "parent": "", "role": "", "ic_pair": "", **kw}


def test_an_org_admin_adds_an_account_through_account_create(client, world):
    admin_user = staff(world, "viewer")
    member(admin_user, world.org, org_admin=True)
    client.force_login(admin_user)
    response = client.post("/admin/ledger/account/add/", account_form(world))
    assert response.status_code == 302
    account = Account.objects.get(organisation=world.org, code="6100")
    assert (account.name, account.type, account.normal_balance) == ("Travel", "expense", "debit")


def test_a_controller_who_is_not_an_org_admin_cannot_add_an_account(client, world):
    """#17: the admin saved the account without account_create's organisation-admin check."""
    client.force_login(staff(world, "controller"))
    page = client.post("/admin/ledger/account/add/", account_form(world))
    assert page.status_code == 200
    assert "Only an organisation admin can change the chart of accounts." in page.content.decode()
    assert not Account.objects.filter(code="6100").exists()


def test_moving_an_account_goes_through_account_move_and_nothing_else_changes(client, world):
    admin_user = staff(world, "viewer")
    member(admin_user, world.org, org_admin=True)
    client.force_login(admin_user)
    account = Account.objects.get(organisation=world.org, code="5100")
    new_parent = Account.objects.filter(organisation=world.org, kind="group").exclude(
        pk=account.parent_id).first()
    url = f"/admin/ledger/account/{account.pk}/change/"
    response = client.post(url, {"parent": new_parent.pk, "name": "renamed?", "is_active": ""})
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.parent_id, account.name, account.is_active) == (new_parent.pk, account.name, True)
    assert account.name != "renamed?"
    assert account.history.first().history_change_reason == f"moved under {new_parent.code}"
