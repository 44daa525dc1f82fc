"""The group's consolidation ledger in the admin (issue #17, item 5): an organisation admin grants
roles on it, a preparer there saves a manual adjustment as a draft entry of it; every refusal (no
right, an unbalanced entry, a line without an account) is an error on the form, and nothing is written."""
from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from consolidation.models import ConsolidationGroup
from consolidation.services.posting import elimination_ledger_ensure
from ledger.models import Account, EntrySource, JournalEntry
from periods.models import EntityPeriod, Period
from sheshi.access.roles import PREPARE, VIEW
from tests.consolidation.helpers import CASES_DIR
from tests.factories import UserFactory, member, user_with_role
from tests.locking import lock_through

pytestmark = pytest.mark.django_db
GROUPS = "/admin/consolidation/consolidationgroup/"


@pytest.fixture
def group():
    call_command("load_group_pack", str(CASES_DIR / "wholly_owned.json"), "--org", "WHOLE", stdout=io.StringIO())
    group = ConsolidationGroup.objects.select_related("organisation").get(organisation__code="WHOLE")
    elimination_ledger_ensure(group_id=group.pk)
    group.refresh_from_db()
    return group


def staff(user):
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="consolidation"))
    return user


def org_admin(group):
    user = staff(UserFactory())
    member(user, group.organisation, org_admin=True)
    return user


def page(response) -> str:
    return response.content.decode()


def test_the_group_page_links_to_its_ledger_pages(client, group):
    client.force_login(org_admin(group))
    html = page(client.get(f"{GROUPS}{group.pk}/change/"))
    assert f'href="{GROUPS}{group.pk}/ledger/grant/" id="ledger-grant"' in html
    assert f'href="{GROUPS}{group.pk}/ledger/adjustment/" id="ledger-adjustment"' in html


def test_an_organisation_admin_grants_a_role_on_the_ledger(client, group):
    reader = UserFactory(username="reader")
    member(reader, group.organisation)
    client.force_login(org_admin(group))
    response = client.post(f"{GROUPS}{group.pk}/ledger/grant/", {"user": reader.pk, "role": "viewer"})
    assert response.status_code == 302 and response["Location"] == f"{GROUPS}{group.pk}/change/"
    assert reader.has_perm(VIEW, group.elimination_entity)
    assert not reader.has_perm(PREPARE, group.elimination_entity)


def test_a_grant_refused_by_the_service_is_an_error_on_the_form_and_grants_nothing(client, group):
    controller = staff(user_with_role(group.top_entity, "controller"))  # of the parent; not an organisation admin
    other = UserFactory(username="other")
    member(other, group.organisation)
    client.force_login(controller)
    response = client.post(f"{GROUPS}{group.pk}/ledger/grant/", {"user": other.pk, "role": "controller"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Only an organisation admin can grant or revoke roles."]
    assert 'class="errorlist nonfield"' in page(response)
    assert not other.has_perm(VIEW, group.elimination_entity)
    # An organisation role is not a ledger role: not even a choice.
    client.force_login(org_admin(group))
    response = client.post(f"{GROUPS}{group.pk}/ledger/grant/", {"user": other.pk, "role": "org_admin"})
    assert response.status_code == 200 and "Select a valid choice." in page(response)


def adjustment(group, *lines, period="2024-12", description="Reclassify cash in transit"):
    accounts = dict(Account.objects.filter(organisation=group.organisation).values_list("code", "pk"))
    data = {"period": Period.objects.get(organisation=group.organisation, code=period).pk,
            "description": description, "lines-TOTAL_FORMS": "6", "lines-INITIAL_FORMS": "0"}
    for i, (code, debit, credit) in enumerate(lines):
        data |= {f"lines-{i}-account": accounts[code] if code else "", f"lines-{i}-debit": debit,
                 f"lines-{i}-credit": credit}
    return data


def test_a_preparer_on_the_ledger_saves_an_adjustment_as_a_draft_entry(client, group):
    preparer = staff(user_with_role(group.elimination_entity, "preparer"))
    client.force_login(preparer)
    url = f"{GROUPS}{group.pk}/ledger/adjustment/"
    assert 'id="adjustment-lines"' in page(client.get(url))
    response = client.post(url, adjustment(group, ("1000", "", "250.00"), ("1700", "250.00", "")))
    entry = JournalEntry.objects.get(entity=group.elimination_entity, source=EntrySource.MANUAL)
    assert response.status_code == 302 and response["Location"] == f"/admin/ledger/journalentry/{entry.pk}/change/"
    assert (entry.status, entry.description, entry.period.code) == ("draft", "Reclassify cash in transit", "2024-12")
    assert sorted((line.account.code, line.amount) for line in entry.lines.select_related("account")) == [
        ("1000", -250), ("1700", 250)]


@pytest.mark.parametrize(("lines", "error"), [
    ((("1000", "", "250.00"), ("1700", "200.00", "")), "does not balance"),
    ((("", "250.00", ""), ("1000", "", "250.00")), "An amount needs an account."),
    ((("1000", "10", "10"),), "A line is a debit or a credit, not both."),
    ((), "Enter the adjustment&#x27;s lines."),
])
def test_a_wrong_adjustment_is_an_error_on_the_form_and_writes_nothing(client, group, lines, error):
    client.force_login(staff(user_with_role(group.elimination_entity, "preparer")))
    response = client.post(f"{GROUPS}{group.pk}/ledger/adjustment/", adjustment(group, *lines))
    assert response.status_code == 200 and error in page(response)
    assert not JournalEntry.objects.filter(entity=group.elimination_entity).exists()


def test_an_adjustment_without_prepare_rights_on_the_ledger_is_refused_on_the_form(client, group):
    client.force_login(staff(user_with_role(group.top_entity, "controller")))  # the parent's, not the ledger's
    response = client.post(f"{GROUPS}{group.pk}/ledger/adjustment/",
                           adjustment(group, ("1000", "", "250.00"), ("1700", "250.00", "")))
    assert response.status_code == 200 and 'class="errorlist nonfield"' in page(response)
    assert not JournalEntry.objects.filter(entity=group.elimination_entity).exists()


def test_another_tenants_group_ledger_pages_are_404(client, group):
    call_command("load_group_pack", str(CASES_DIR / "wholly_owned.json"), "--org", "OTHER", stdout=io.StringIO())
    other = ConsolidationGroup.objects.get(organisation__code="OTHER")
    client.force_login(org_admin(group))
    assert client.get(f"{GROUPS}{other.pk}/ledger/grant/").status_code == 404
    assert client.post(f"{GROUPS}{other.pk}/ledger/adjustment/", {}).status_code == 404


def test_an_adjustment_into_a_locked_month_of_the_ledger_is_refused_on_the_form(client, group):
    ep = EntityPeriod.objects.get(entity=group.elimination_entity, period__code="2024-11")
    lock_through(actor=None, entity_period_id=ep.pk)
    client.force_login(staff(user_with_role(group.elimination_entity, "preparer")))
    response = client.post(f"{GROUPS}{group.pk}/ledger/adjustment/",
                           adjustment(group, ("1000", "", "5.00"), ("1700", "5.00", ""), period="2024-11"))
    assert response.status_code == 200
    assert f"Period 2024-11 is locked for entity {group.elimination_entity.code}" in page(response)
    assert not JournalEntry.objects.filter(entity=group.elimination_entity).exists()
