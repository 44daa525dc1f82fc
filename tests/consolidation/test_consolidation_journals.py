"""Translation (CTA) is posted as journals in the consolidation ledger beside the eliminations, so
that the consolidated TB is exactly the members' ledgers at their closing rates plus the journals
standing in that ledger; who sees that ledger and who adjusts it is a role grant on it."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from consolidation.models import ConsolidationGroup, ConsolidationRun, RunStatus
from consolidation.selectors.journals import run_journals
from consolidation.services.ledger_access import (
    consolidation_adjustment_prepare,
    consolidation_journals_list,
    consolidation_ledger_role_grant,
)
from consolidation.services.runs import consolidation_run_request
from consolidation.tasks import consolidation_run_task
from ledger.models import Account, EntrySource, JournalEntry, JournalLine
from ledger.services.entries import journal_entry_approve, journal_entry_post, journal_entry_submit
from periods.models import Period
from sheshi.errors import PermissionDenied
from tests.conditional import post_if_match
from tests.consolidation.helpers import CASES_DIR, cta_three_ways, ledger_explains_run
from tests.factories import UserFactory, member, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def group():
    """The worked foreign-subsidiary case: P (EUR) holds 80 % of S (USD); the dollar moved from
    0.90 (historical) through 0.92 (average) to 0.95 (closing)."""
    call_command("load_group_pack", str(CASES_DIR / "foreign_subsidiary_cta.json"), "--org", "CASE",
                 stdout=io.StringIO())
    return ConsolidationGroup.objects.select_related("organisation", "top_entity").get(organisation__code="CASE")


@pytest.fixture
def period(group):
    return Period.objects.get(organisation=group.organisation, code="2024-12")


def run_once(group, period) -> ConsolidationRun:
    run = consolidation_run_request(actor=None, group=group, period=period)
    consolidation_run_task(run.pk)
    return ConsolidationRun.objects.select_related("group", "period__fiscal_year").get(pk=run.pk)


def lines_of(entry_id: int) -> dict[str, Decimal]:
    return dict(JournalLine.objects.filter(entry_id=entry_id).values_list("account__code", "functional_amount"))


def test_translation_is_posted_as_a_balanced_journal_to_cta_and_the_ledgers_explain_the_tb_to_the_cent(group,
                                                                                                       period):
    run = run_once(group, period)
    assert run.status == RunStatus.SUCCEEDED and run.posting_error is None
    translation = JournalEntry.objects.get(pk__in=run.posted_entry_ids, source=EntrySource.TRANSLATION)
    # S's equity at historical instead of closing: 8,000 x (0.90 - 0.95) = -400 on share capital and
    # retained earnings; P&L at average: sales -5,000 x (0.92 - 0.95) = 150, cost 3,000 x -0.03 = -90,
    # opex 1,000 x -0.03 = -30; the difference, 430, is the CTA credit (worked in the case's .md).
    assert lines_of(translation.pk) == {"3000": Decimal("300.0000"), "3100": Decimal("100.0000"),
                                        "4000": Decimal("150.0000"), "5000": Decimal("-90.0000"),
                                        "5200": Decimal("-30.0000"), "3300": Decimal("-430.0000")}
    group.refresh_from_db()
    assert translation.entity_id == group.elimination_entity_id
    expected, explained = ledger_explains_run(run)
    assert explained == expected
    assert expected["3300"] == Decimal("-389.00")  # owners' CTA, as the case works it by hand


def test_before_translation_was_posted_the_ledgers_missed_the_cta(group, period):
    """What the identity catches: the consolidation ledger without the translation journal is the
    CTA short (the state before #17 item 5)."""
    run = run_once(group, period)
    JournalEntry.objects.filter(pk__in=run.posted_entry_ids, source=EntrySource.TRANSLATION).get()
    journals = run_journals(run.results)
    without = [j for j in journals.journals if j.kind != "translation"]
    total: dict[str, Decimal] = {}
    for part in [*journals.members.values(), *(j.by_account() for j in without)]:
        for account, amount in part.items():
            total[account] = total.get(account, Decimal(0)) + amount
    expected = {k: Decimal(v) for k, v in run.results["consolidated_tb"].items()}
    assert {k: v for k, v in total.items() if v} != expected


def test_a_rerun_replaces_the_translation_journal_with_the_net_effect_of_one_run(group, period):
    first = run_once(group, period)
    second = run_once(group, period)
    reversed_ = set(JournalEntry.objects.filter(pk__in=second.reversal_entry_ids).values_list("reverses_id",
                                                                                              flat=True))
    assert reversed_ == set(first.posted_entry_ids)
    expected, explained = ledger_explains_run(second)
    assert explained == expected


@pytest.fixture
def ledger(group, period):
    run_once(group, period)
    group.refresh_from_db()
    return group.elimination_entity


def test_nobody_sees_the_consolidation_ledger_until_granted(group, period, ledger):
    top_viewer = user_with_role(group.top_entity, "controller")  # controller of the parent, not of the ledger
    with pytest.raises(PermissionDenied):
        consolidation_journals_list(actor=top_viewer, group=group, period=period)
    admin = UserFactory()
    member(admin, group.organisation, org_admin=True)
    consolidation_ledger_role_grant(actor=admin, group=group, user=top_viewer, role="viewer")
    journals = consolidation_journals_list(actor=top_viewer, group=group, period=period)
    assert {j.source for j in journals} == {EntrySource.TRANSLATION, EntrySource.ELIMINATION}


def test_only_an_organisation_admin_grants_roles_on_the_consolidation_ledger(group, ledger):
    controller = user_with_role(group.top_entity, "controller")
    other = UserFactory()
    member(other, group.organisation)
    with pytest.raises(PermissionDenied):
        consolidation_ledger_role_grant(actor=controller, group=group, user=other, role="controller")
    assert not other.has_perm("tenancy.view_entity_data", ledger)


def test_a_viewer_of_the_ledger_cannot_post_an_adjustment_and_writes_nothing(group, period, ledger):
    viewer = user_with_role(ledger, "viewer")
    outsider = user_with_role(group.top_entity, "controller")
    accounts = {a.code: a for a in Account.objects.filter(organisation=group.organisation)}
    before = (JournalEntry.objects.count(), JournalLine.objects.count())
    for user in (viewer, outsider):
        with pytest.raises(PermissionDenied):
            consolidation_adjustment_prepare(actor=user, group=group, period=period, description="reclass",
                                             lines=[(accounts["1000"], Decimal(10)), (accounts["1100"], Decimal(-10))])
    assert (JournalEntry.objects.count(), JournalLine.objects.count()) == before


def test_a_granted_adjustment_once_posted_is_read_by_the_next_run_and_the_ledgers_still_explain_it(group, period,
                                                                                                   ledger):
    preparer = user_with_role(ledger, "preparer")
    approver = user_with_role(ledger, "approver")
    accounts = {a.code: a for a in Account.objects.filter(organisation=group.organisation)}
    entry = consolidation_adjustment_prepare(actor=preparer, group=group, period=period,
                                             description="Reclassify cash in transit to receivables",
                                             lines=[(accounts["1100"], Decimal("250.00")),
                                                    (accounts["1000"], Decimal("-250.00"))])
    assert (entry.entity_id, entry.source, entry.status) == (ledger.pk, EntrySource.MANUAL, "draft")
    journal_entry_submit(actor=preparer, entry_id=entry.pk)
    journal_entry_approve(actor=approver, entry_id=entry.pk)
    journal_entry_post(actor=approver, entry_id=entry.pk)
    run = run_once(group, period)  # the next run reads the adjustment
    assert "manual_adjustments" in run.changed_inputs
    assert run.results["manual_adjustments"] == [
        {"entry": str(entry.pk), "description": "Reclassify cash in transit to receivables",
         "lines": [["1000", "-250.00"], ["1100", "250.00"]]}]
    assert Decimal(run.results["consolidated_tb"]["1000"]) == Decimal("3080.00")  # 3,330 less 250
    # the run replaced its own journals but left the manual adjustment standing
    assert not JournalEntry.objects.filter(reverses_id=entry.pk).exists()
    expected, explained = ledger_explains_run(run)
    assert explained == expected


def test_over_the_api_a_viewer_of_the_group_is_refused_an_adjustment_and_a_ledger_preparer_gets_a_draft(
        client, group, period, ledger):
    url = f"/api/v1/consolidation-groups/{group.pk}/"
    body = {"period": "2024-12", "description": "reclass",
            "lines": [{"account": "1100", "amount": "10.00"}, {"account": "1000", "amount": "-10.00"}]}
    before = JournalEntry.objects.count()
    client.force_login(user_with_role(group.top_entity, "controller"))  # not granted on the ledger
    assert client.get(f"{url}journals/2024-12/").status_code == 403
    resp = client.post(f"{url}adjustments/", body, content_type="application/json")
    assert resp.status_code == 403 and JournalEntry.objects.count() == before
    preparer = user_with_role(group.top_entity, "viewer")
    admin = user_with_role(group.top_entity, "viewer")  # sees the group; an organisation admin
    member(admin, group.organisation, org_admin=True)
    client.force_login(admin)
    assert post_if_match(client, f"{url}ledger-roles/", {"username": preparer.username, "role": "preparer"},
                         content_type="application/json").status_code == 204
    client.force_login(preparer)
    resp = client.post(f"{url}adjustments/", body, content_type="application/json")
    assert resp.status_code == 201, resp.content
    assert (resp.json()["source"], resp.json()["status"]) == ("manual", "draft")
    assert {j["source"] for j in client.get(f"{url}journals/2024-12/").json()} == {
        "translation", "elimination", "manual"}


def test_the_worksheet_cta_is_what_the_translation_journals_post(group, period):
    """The run page's members worksheet and the translation journals (computed, and as posted in
    the consolidation ledger) give each member the same CTA, to the cent."""
    run = run_once(group, period)
    sheet, journals, posted = cta_three_ways(run)
    assert sheet == journals == posted
    assert sheet["S"] != 0 and sum(sheet.values()) == sum(Decimal(t["cta_exact"] or "0").quantize(Decimal("0.01"))
                                                         for t in run.results["translation"].values())
