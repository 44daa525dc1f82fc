"""Admin polish (issue #16 item 5): names instead of ids, human words instead of internal codes,
no Revert where the database forbids it, readable history, actions only for roles that may use
them, the audit list without sign-in noise by default."""
import re
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from audit.models import AuditEvent
from ledger.inputs import EntryInput, LineInput
from ledger.models import JournalEntry
from ledger.services.entries import (
    journal_entry_approve,
    journal_entry_create,
    journal_entry_create_and_post,
    journal_entry_post,
    journal_entry_submit,
)
from periods.models import ChecklistTask, ChecklistTaskComment, LockOverride, PeriodLockSnapshot
from periods.services.close import entity_periods_move
from sheshi.access.services.grants import role_grant
from sheshi.errors import SheshiError
from tests.factories import member, user_with_role
from tests.locking import lock_through

pytestmark = pytest.mark.django_db


def staff(user, *apps):
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=apps or ("ledger", "periods")))
    return user


def sale(world, amount="42", day=date(2026, 3, 15)):
    return EntryInput(entry_date=day, description="Sale", lines=[
        LineInput(account_id=world.acc("1200"), amount=Decimal(amount)),
        LineInput(account_id=world.acc("4100"), amount=-Decimal(amount))])


def test_the_balances_list_names_entity_account_and_period(client, world):
    """It listed raw ids (entity 4, account 29)."""
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=sale(world))
    client.force_login(staff(user_with_role(world.entity, "viewer")))
    html = client.get("/admin/ledger/balance/").content.decode()
    assert f'/change/">{world.entity.code}</a></th>' in html
    assert '<td class="field-account_name">1200 Receivables</td>' in html
    assert '<td class="field-period_name">2026-03</td>' in html
    assert "field-entity_id" not in html and "field-account_id" not in html


def test_lock_snapshots_and_entity_periods_read_as_entity_period_and_state(client, world):
    """A snapshot was listed as "1/4: locked"."""
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=sale(world))
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    snapshot = PeriodLockSnapshot.objects.get(entity_period=world.entity_period("2026-03"))
    assert str(snapshot.entity_period) == f"{world.entity.code} 2026-03 (locked)"
    assert str(snapshot).startswith(f"Lock of {world.entity.code} 2026-03 on ")
    assert str(snapshot).endswith(f"(2 lines, {snapshot.sha256[:12]})")
    client.force_login(staff(user_with_role(world.entity, "viewer")))
    html = client.get("/admin/periods/periodlocksnapshot/").content.decode()
    assert f"{world.entity.code} 2026-03 (locked)" in html
    ep = snapshot.entity_period
    assert f"{ep.entity_id}/{ep.period_id}: locked" not in html


def test_refusals_name_the_right_in_words_not_its_codename(client, world):
    """Messages said "You need 'approve_entries' on entity ..."."""
    theirs = journal_entry_create(actor=None, entity=world.other, entry=sale(world)).entry
    journal_entry_submit(actor=None, entry_id=theirs.pk)
    user = staff(user_with_role(world.entity, "approver"))
    role_grant(actor=None, user=user, entity=world.other, role="viewer")
    client.force_login(user)
    page = client.post("/admin/ledger/journalentry/", {"action": "approve", "_selected_action": [theirs.pk]},
                       follow=True).content.decode()
    assert (f"Entry {theirs.pk} was not approved: You are not allowed to approve or post journal entries for entity "
            f"{world.other.code}.") in page
    assert "approve_entries" not in page


def test_the_close_grid_says_soft_closed_in_words(client, world):
    client.force_login(staff(user_with_role(world.entity, "controller")))
    ep = world.entity_period("2026-01")
    page = client.post("/admin/periods/entityperiod/grid/confirm/", {
        "cell": [ep.pk], "to": "soft_closed", "confirmed": "yes"}, follow=True).content.decode()
    said = page[page.index('class="messagelist"'):].split("</ul>")[0]
    assert "1 period(s) moved to soft-closed." in said and "soft_closed" not in said
    with pytest.raises(SheshiError) as refused:
        entity_periods_move(actor=None, entity_period_ids=[ep.pk], to="soft_closed")
    assert "already soft-closed" in str(refused.value.detail) + str(refused.value.errors)
    assert "soft_closed" not in str(refused.value.detail) + " ".join(e.message for e in refused.value.errors)


def test_the_close_grid_holds_no_inline_style_the_policy_would_refuse(client, world):
    """The production Content-Security-Policy (style-src 'self') drops inline styles: the grid lost its colours."""
    client.force_login(staff(user_with_role(world.entity, "controller")))
    body = client.get("/admin/periods/entityperiod/grid/").content.decode()
    assert "close-grid" in body and "periods/close.css" in body
    assert "<style" not in body and " style=" not in body


def history_pages(client, admin_path, obj_pk, model):
    versions = list(model.history.filter(id=obj_pk).values_list("history_id", flat=True))
    listing = client.get(f"{admin_path}{obj_pk}/history/")
    forms = [client.get(f"{admin_path}{obj_pk}/history/{v}/") for v in versions]
    posts = [client.post(f"{admin_path}{obj_pk}/history/{v}/", {}) for v in versions[:1]]
    return listing, forms, posts


def test_history_of_a_posted_entry_offers_no_revert_and_reads_as_words(client, world):
    """Revert on a posted entry was a 500; the history said "Deleted user (pk=None)"."""
    preparer = user_with_role(world.entity, "preparer")
    approver = staff(user_with_role(world.entity, "controller"))
    entry = journal_entry_create(actor=preparer, entity=world.entity, entry=sale(world)).entry
    journal_entry_submit(actor=preparer, entry_id=entry.pk)
    journal_entry_approve(actor=approver, entry_id=entry.pk)
    journal_entry_post(actor=approver, entry_id=entry.pk)
    client.force_login(approver)
    listing, forms, posts = history_pages(client, "/admin/ledger/journalentry/", entry.pk, JournalEntry)
    html = listing.content.decode()
    assert listing.status_code == 200
    assert "Deleted user" not in html and "pk=None" not in html
    text = re.sub(r"\s+", " ", html.replace("&nbsp;", " ").replace("&rarr;", "→"))
    assert "<strong>Status:</strong> Submitted → Approved" in text
    assert f"<strong>Approved by:</strong> — → {approver.username}" in text
    assert "<td> None </td>" not in text
    assert all(f.status_code in (200, 403) and b"Revert" not in f.content for f in forms)
    assert [p.status_code for p in posts] == [403]
    entry.refresh_from_db()
    assert entry.status == "posted"


def test_history_of_a_locked_period_offers_no_revert(client, world):
    lock_through(actor=None, entity_period_id=world.entity_period("2026-01").pk)
    client.force_login(staff(user_with_role(world.entity, "controller")))
    ep = world.entity_period("2026-01")
    listing, forms, posts = history_pages(client, "/admin/periods/entityperiod/", ep.pk, type(ep))
    assert listing.status_code == 200 and b"Revert" not in listing.content
    assert forms and all(f.status_code in (200, 403) and b"Revert" not in f.content for f in forms)
    assert [p.status_code for p in posts] == [403]
    ep.refresh_from_db()
    assert ep.state == "locked"


def action_names(client, path="/admin/ledger/journalentry/"):
    html = client.get(path).content.decode()
    if 'name="action"' not in html:
        return set()
    select = html[html.index('name="action"'):].split("</select>")[0]
    return {chunk.split('"')[0] for chunk in select.split('<option value="')[1:]} - {""}


@pytest.mark.parametrize(("role", "expected"), [
    ("viewer", set()),
    ("preparer", {"submit", "post", "reverse", "void_entries", "save_as_template"}),
    ("approver", {"approve", "reject", "post", "void_entries"}),
    ("controller", {"submit", "approve", "reject", "post", "reverse", "void_entries", "save_as_template"}),
])
def test_journal_actions_are_listed_only_to_roles_that_may_use_them(client, world, role, expected):
    journal_entry_create(actor=None, entity=world.entity, entry=sale(world))
    client.force_login(staff(user_with_role(world.entity, role)))
    assert action_names(client) == expected


def test_generating_a_fiscal_year_is_offered_to_organisation_admins_only(client, world):
    controller = staff(user_with_role(world.entity, "controller"))
    client.force_login(controller)
    assert "generate_next_year" not in action_names(client, "/admin/periods/fiscalyear/")
    member(controller, world.org, org_admin=True)
    assert "generate_next_year" in action_names(client, "/admin/periods/fiscalyear/")


def test_the_audit_list_hides_sign_in_events_until_asked(client, world):
    user = staff(user_with_role(world.entity, "viewer"), "audit", "ledger")
    user.set_password("pw-for-the-test")
    user.save()
    client.post("/admin/login/", {"username": user.username, "password": "pw-for-the-test"})
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=sale(world))
    client.get("/admin/ledger/balance/trial-balance/", {"entity": world.entity.code, "period": "2026-03"})
    assert AuditEvent.objects.filter(organisation_id=world.org.pk, action="login.succeeded").exists()
    default = client.get("/admin/audit/auditevent/").content.decode()
    assert "report.read" in default and "login.succeeded" not in default.split('id="changelist-filter"')[0]
    shown = client.get("/admin/audit/auditevent/", {"sign_ins": "shown"}).content.decode()
    assert "login.succeeded" in shown.split('id="changelist-filter"')[0] and "report.read" in shown
    only = client.get("/admin/audit/auditevent/", {"sign_ins": "only"}).content.decode()
    assert "report.read" not in only.split('id="changelist-filter"')[0]


def test_close_records_read_as_what_they_are_not_ids(world):
    """A lock override read "override 12" and a task comment "comment on task 7" in the admin and history."""
    ep = world.entity_period("2026-03")
    assert str(LockOverride(entity_period=ep)) == f"Lock override of {world.entity.code} 2026-03 (open)"
    assert str(ChecklistTaskComment(task=ChecklistTask(title="Bank reconciliation"))) == \
        "Comment on “Bank reconciliation”"
