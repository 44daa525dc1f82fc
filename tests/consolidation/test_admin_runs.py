"""Runs in the admin (issue #17): consolidate a group for one or many periods, follow the run,
read its statements with account names and links (the run page showed a components table without
either), drill from a figure to a member's ledger lines and import file row, compare two runs,
work the intercompany worklist; a user without rights on the group gets nothing and no 500."""
from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from consolidation.models import ConsolidationGroup, ConsolidationRun, IcDifference, RunStatus
from ledger.imports.mapping import ColumnMapping
from ledger.imports.services import import_batch_upload, source_system_create
from ledger.models import JournalEntry
from periods.models import Period
from sheshi.tenancy.models import Entity
from tests.consolidation.helpers import CASES_DIR
from tests.factories import EntityFactory, member, user_with_role

pytestmark = pytest.mark.django_db
RUNS = "/admin/consolidation/consolidationrun/"


def load(case: str, org: str) -> ConsolidationGroup:
    call_command("load_group_pack", str(CASES_DIR / f"{case}.json"), "--org", org, stdout=io.StringIO())
    return ConsolidationGroup.objects.select_related("top_entity", "organisation").get(organisation__code=org)


@pytest.fixture
def group():
    return load("three_level_chain", "CHAIN")


def staff(user):
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="consolidation"))
    return user


def controller(group):
    return staff(user_with_role(group.top_entity, "controller"))


def period(group, code="2024-12"):
    return Period.objects.get(organisation=group.organisation, code=code)


def consolidate(client, group, *codes, capture):
    with capture(execute=True):  # the jobs start on commit (synchronously under test)
        return client.post(RUNS + "consolidate/", {"group": group.pk,
                                                   "periods": [period(group, c).pk for c in codes]})


def html(response) -> str:
    return response.content.decode()


def test_consolidate_one_period_queues_the_job_and_opens_the_run_page(client, group,
                                                                       django_capture_on_commit_callbacks):
    client.force_login(controller(group))
    assert "Consolidate" in html(client.get(RUNS))
    response = consolidate(client, group, "2024-12", capture=django_capture_on_commit_callbacks)
    run = ConsolidationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{RUNS}{run.pk}/change/"
    assert (run.status, run.period.code, run.requested_by.username) == (RunStatus.SUCCEEDED, "2024-12",
                                                                       response.wsgi_request.user.username)


def test_consolidate_many_periods_queues_one_run_each(client, group, django_capture_on_commit_callbacks):
    client.force_login(controller(group))
    response = consolidate(client, group, "2024-11", "2024-12", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == f"{RUNS}?group__id__exact={group.pk}"
    assert sorted(ConsolidationRun.objects.values_list("period__code", flat=True)) == ["2024-11", "2024-12"]


def test_consolidate_refused_without_close_on_the_group_writes_nothing(client, group,
                                                                        django_capture_on_commit_callbacks):
    client.force_login(staff(user_with_role(group.top_entity, "viewer")))
    response = consolidate(client, group, "2024-12", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert f"You are not allowed to close periods for entity {group.top_entity.code}." in html(response)
    assert ConsolidationRun.objects.count() == 0


def test_consolidate_another_tenants_group_is_not_a_choice(client, group, django_capture_on_commit_callbacks):
    outsider = staff(user_with_role(EntityFactory(), "controller"))
    client.force_login(outsider)
    response = consolidate(client, group, "2024-12", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200 and "Select a valid choice" in html(response)
    assert ConsolidationRun.objects.count() == 0


def test_a_queued_run_page_shows_its_progress_and_refreshes_itself(client, group,
                                                                   django_capture_on_commit_callbacks):
    from consolidation.services.runs import consolidation_run_request

    with django_capture_on_commit_callbacks(execute=False):
        run = consolidation_run_request(actor=None, group=group, period=period(group))
    client.force_login(controller(group))
    page = html(client.get(f"{RUNS}{run.pk}/change/"))
    assert '<meta http-equiv="refresh" content="2">' in page and "<strong>Queued</strong>" in page


@pytest.fixture
def run(client, group, django_capture_on_commit_callbacks):
    client.force_login(controller(group))
    consolidate(client, group, "2024-12", capture=django_capture_on_commit_callbacks)
    return ConsolidationRun.objects.get()


def test_the_run_page_has_statements_worksheet_and_schedules_with_names_and_links(client, run):
    """Was a components table without account names or links."""
    page = html(client.get(f"{RUNS}{run.pk}/change/"))
    assert '<meta http-equiv="refresh"' not in page
    assert f'<a href="{RUNS}{run.pk}/accounts/1000/">1000</a>' in page and "Cash" in page
    assert "Non-controlling interests" in page and "Intermediate" not in page  # names of accounts, not members
    assert re.search(r'id="nci-equity">2270.00<', page)  # the hand figure of the three-level chain
    assert re.search(r'id="profit-nci">510.00<', page)
    assert "(does not equal total assets)" not in page
    worksheet = page[page.index('id="worksheet"'):page.index('id="cta-schedule"')]
    assert re.findall(r'<th class="num">([^<]+)</th>', worksheet) == [
        "P", "B", "C", "investment", "nci_profit", "Consolidated"]
    assert 'id="cta-schedule"' in page and 'id="nci-schedule"' in page


def test_drill_from_a_figure_to_components_member_and_ledger_line(client, run):
    figure = html(client.get(f"{RUNS}{run.pk}/accounts/1000/"))
    assert 'id="figure-amount">2300.00<' in figure
    assert f'href="{RUNS}{run.pk}/accounts/1000/members/C/"' in figure
    member = html(client.get(f"{RUNS}{run.pk}/accounts/1000/members/C/"))
    assert "You may not view C" in member and 'id="ledger-lines"' not in member  # rights on the top only
    from sheshi.access.services.grants import role_grant

    role_grant(actor=None, user=run.requested_by, entity=Entity.objects.get(organisation_id=run.organisation_id,
                                                                            code="C"), role="viewer")
    member = html(client.get(f"{RUNS}{run.pk}/accounts/1000/members/C/"))
    entry = JournalEntry.objects.get(entity__code="C", entity__organisation_id=run.organisation_id)
    assert 'id="local-amount">1000' in member and 'id="translated-amount">1000.00<' in member
    assert f'href="/admin/ledger/journalentry/{entry.pk}/change/">JE{entry.pk}</a>' in member
    assert re.search(r'id="closing-balance">1000\.0+<', member)


def test_drill_reaches_the_import_file_row(client, group, django_capture_on_commit_callbacks):
    sub = Entity.objects.get(organisation=group.organisation, code="C")
    mapping = ColumnMapping.from_dict({"kind": "trial_balance", "account": "Account", "debit": "Debit",
                                       "credit": "Credit", "description": "Name"})
    source = source_system_create(actor=None, organisation_id=group.organisation_id, code="ERP", name="ERP",
                                  mapping=mapping)
    batch = import_batch_upload(actor=None, entity=sub, period=period(group), filename="c-tb.csv", mapping=mapping,
                                source_system=source,
                                stream=io.BytesIO(b"Account,Name,Debit,Credit\n1000,Cash,40.00,\n4000,Sales,,40.00\n"))
    user = controller(group)
    from sheshi.access.services.grants import role_grant

    role_grant(actor=None, user=user, entity=sub, role="viewer")
    client.force_login(user)
    consolidate(client, group, "2024-12", capture=django_capture_on_commit_callbacks)
    run = ConsolidationRun.objects.get()
    member = html(client.get(f"{RUNS}{run.pk}/accounts/1000/members/C/"))
    assert (f'href="/admin/ledger/importbatch/{batch.batch.pk}/change/">import {batch.batch.pk} row 2</a>'
            in member)
    assert re.search(r"<code>[^<]*1000[^<]*Cash[^<]*40\.00[^<]*</code>", member)
    assert re.search(r'id="closing-balance">1040\.0+<', member)


def test_bad_drill_addresses_are_404_not_500(client, run):
    assert client.get(f"{RUNS}{run.pk}/accounts/9999/").status_code == 404
    assert client.get(f"{RUNS}{run.pk}/accounts/1000/members/NOPE/").status_code == 404
    assert client.get(f"{RUNS}{run.pk + 999}/change/").status_code == 404
    assert client.get(f"{RUNS}compare/?before=x&after=1").status_code == 302


def test_a_user_without_rights_on_the_group_sees_no_run(client, run):
    client.force_login(staff(user_with_role(Entity.objects.get(organisation_id=run.organisation_id, code="C"),
                                            "controller")))
    assert client.get(f"{RUNS}{run.pk}/change/").status_code == 404
    assert client.get(f"{RUNS}{run.pk}/accounts/1000/").status_code == 404
    assert "0 consolidation runs" in html(client.get(RUNS))
    assert ConsolidationRun.objects.filter(pk=run.pk).count() == 1


def test_compare_two_runs_names_changed_sections_and_moved_figures(client, group, run,
                                                                   django_capture_on_commit_callbacks):
    from ledger.inputs import EntryInput, LineInput
    from ledger.models import Account, EntrySource
    from ledger.services.bulk import journal_entries_post_bulk

    accounts = dict(Account.objects.filter(organisation=group.organisation).values_list("code", "pk"))
    sub = Entity.objects.get(organisation=group.organisation, code="C")
    journal_entries_post_bulk(actor=None, entity=sub, source=EntrySource.IMPORT, entries=[EntryInput(
        entry_date=period(group).end_date, period_id=period(group).pk, description="late sale", lines=[
            LineInput(account_id=accounts["1000"], amount=Decimal("100")),
            LineInput(account_id=accounts["4000"], amount=Decimal("-100"))])])
    consolidate(client, group, "2024-12", capture=django_capture_on_commit_callbacks)
    second = ConsolidationRun.objects.exclude(pk=run.pk).get()
    assert second.changed_inputs == ["tb:C"]
    response = client.post(RUNS, {"action": "compare_two", "_selected_action": [run.pk, second.pk]})
    assert response["Location"] == f"{RUNS}compare/?before={run.pk}&after={second.pk}"
    page = html(client.get(response["Location"]))
    assert "<td>tb:C</td>" in page
    moved = re.findall(r'<tr><td><a href="[^"]+">(\w+)</a></td><td>([^<]*)</td><td class="num">([^<]+)</td>'
                       r'<td class="num">([^<]+)</td><td class="num">([^<]+)</td></tr>',
                       page[page.index('id="moved"'):])
    # C is 60 % of B's 90 %: the sale adds 100 to cash and sales, 46 of the profit goes to NCI.
    assert [m[0] for m in moved] == ["1000", "3400", "3500", "4000"]
    assert moved[0] == ("1000", "Cash", "2300.00", "2400.00", "100.00")


def test_comparing_runs_of_different_groups_is_a_message_not_a_500(client, group, run,
                                                                   django_capture_on_commit_callbacks):
    other = load("wholly_owned", "WHOLE")
    from consolidation.services.runs import consolidation_run_request

    with django_capture_on_commit_callbacks(execute=True):
        second = consolidation_run_request(actor=None, group=other, period=period(other))
    from sheshi.access.services.grants import role_grant

    user = staff(user_with_role(other.top_entity, "controller"))
    member(user, group.organisation)
    role_grant(actor=None, user=user, entity=group.top_entity, role="controller")
    client.force_login(user)
    response = client.get(f"{RUNS}compare/?before={run.pk}&after={second.pk}", follow=True)
    assert response.status_code == 200
    assert "Compare two runs of the same group and period." in [str(m) for m in response.context["messages"]]


def test_ic_worklist_in_the_admin_explain_needs_text_then_saves(client, django_capture_on_commit_callbacks):
    group = load("intercompany_mismatch", "ICM")
    client.force_login(controller(group))
    consolidate(client, group, "2024-12", capture=django_capture_on_commit_callbacks)
    run = ConsolidationRun.objects.get()
    page = html(client.get(f"{RUNS}{run.pk}/change/"))
    row = IcDifference.objects.get(account__code="1200")
    assert f'href="/admin/consolidation/icdifference/{row.pk}/change/">P 1200 / S 2200</a>' in page
    listing = html(client.get("/admin/consolidation/icdifference/?status__exact=open"))
    assert listing.count('class="field-pair"') == 2
    url = f"/admin/consolidation/icdifference/{row.pk}/change/"
    refused = client.post(url, {"action": "explain", "text": "  "})
    assert refused.status_code == 200 and "Required." in html(refused)
    row.refresh_from_db()
    assert row.status == "open"
    done = client.post(url, {"action": "explain", "text": "Invoice 118 not booked by S"})
    assert done.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.explanation) == ("explained", "Invoice 118 not booked by S")
    assert "Invoice 118 not booked by S" in html(client.get(url))


def test_ic_difference_page_of_another_group_is_404(client, django_capture_on_commit_callbacks):
    group = load("intercompany_mismatch", "ICM")
    client.force_login(controller(group))
    consolidate(client, group, "2024-12", capture=django_capture_on_commit_callbacks)
    row = IcDifference.objects.first()
    client.force_login(staff(user_with_role(EntityFactory(), "controller")))
    assert client.get(f"/admin/consolidation/icdifference/{row.pk}/change/").status_code == 404
    assert client.post(f"/admin/consolidation/icdifference/{row.pk}/change/",
                       {"action": "resolve", "text": "x"}).status_code == 404
    row.refresh_from_db()
    assert row.status == "open"


def test_group_lock_button_refuses_with_the_open_differences_named(client, django_capture_on_commit_callbacks):
    group = load("intercompany_mismatch", "ICM")
    client.force_login(controller(group))
    consolidate(client, group, "2024-12", capture=django_capture_on_commit_callbacks)
    run = ConsolidationRun.objects.get()
    response = client.post(f"{RUNS}{run.pk}/lock/", follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any("2 intercompany difference(s) of GROUP 2024-12 are open" in t for t in texts), texts


def test_the_group_list_links_to_its_runs_and_to_consolidate(client, group):
    client.force_login(controller(group))
    page = html(client.get("/admin/consolidation/consolidationgroup/"))
    assert f'href="{RUNS}consolidate/?group={group.pk}">consolidate</a>' in page
    form = html(client.get(f"{RUNS}consolidate/?group={group.pk}"))
    assert f'<option value="{group.pk}" selected>' in form


def test_the_consolidation_pages_hold_no_inline_style_the_policy_would_refuse(client,
                                                                              django_capture_on_commit_callbacks):
    """The production Content-Security-Policy allows styles from files only (style-src 'self'):
    the run pages' <style> block and style attributes were refused, the figures lost their layout."""
    group = load("intercompany_mismatch", "ICM")
    client.force_login(controller(group))
    consolidate(client, group, "2024-12", capture=django_capture_on_commit_callbacks)
    run = ConsolidationRun.objects.get()
    row = IcDifference.objects.filter(run=run).first()
    for url in (f"{RUNS}{run.pk}/change/", f"{RUNS}{run.pk}/accounts/1000/", f"{RUNS}consolidate/",
                f"/admin/consolidation/icdifference/{row.pk}/change/"):
        body = html(client.get(url))
        assert "consolidation/cons.css" in body, url
        assert "<style" not in body and " style=" not in body, url
