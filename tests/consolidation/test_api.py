"""Consolidation API: owner runs and drills down; a colleague may read but not run; an outsider
sees nothing (404)."""
from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from consolidation.models import ConsolidationGroup, ConsolidationRun, RunStatus
from sheshi.tenancy.models import Entity
from tests.consolidation.helpers import CASES_DIR, case_expected
from tests.factories import EntityFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def group():
    call_command("load_group_pack", str(CASES_DIR / "three_level_chain.json"), "--org", "CHAIN", stdout=io.StringIO())
    return ConsolidationGroup.objects.select_related("top_entity").get(organisation__code="CHAIN")


def _run(client, group, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post("/api/v1/consolidation-runs/", {"group": group.pk, "period": "2024-12"},
                           content_type="application/json")
    return resp


def test_owner_runs_consolidation_and_reads_hand_figures(client, group, django_capture_on_commit_callbacks):
    client.force_login(user_with_role(group.top_entity, "controller"))
    resp = _run(client, group, django_capture_on_commit_callbacks)
    assert resp.status_code == 202, resp.content
    run_id = resp.json()["id"]
    body = client.get(f"/api/v1/consolidation-runs/{run_id}/").json()
    assert (body["status"], body["progress"], body["period"], body["group"]) == ("succeeded", 100, "2024-12", "GROUP")
    expected = case_expected("three_level_chain")
    for key, value in expected.items():
        assert body["summary"][key] == value, key
    results = client.get(f"/api/v1/consolidation-runs/{run_id}/results/").json()
    assert results["nci_by_member"]["C"]["closing"] == "1820.00" and "components" not in results


def test_drill_down_from_consolidated_account_to_components_and_ledger(client, group,
                                                                       django_capture_on_commit_callbacks):
    from sheshi.access.services.grants import role_grant

    user = user_with_role(group.top_entity, "controller")
    client.force_login(user)
    run_id = _run(client, group, django_capture_on_commit_callbacks).json()["id"]
    body = client.get(f"/api/v1/consolidation-runs/{run_id}/accounts/3400/").json()
    assert body["amount"] == "-2270.00"
    assert [(c["entity"], c["source"], c["amount"]) for c in body["components"]] == [
        ("B", "investment", "-400.00"), ("C", "investment", "-1610.00"), ("C", "investment", "250.00"),
        ("B", "nci_profit", "-50.00"), ("C", "nci_profit", "-460.00")]
    cash = client.get(f"/api/v1/consolidation-runs/{run_id}/accounts/1000/").json()
    member = [c for c in cash["components"] if c["source"] == "trial_balance"]
    assert [(c["entity"], c["amount"], c["local_amount"], c["rate"]) for c in member] == [
        ("P", "800.00", "800.00", "1.00"), ("B", "500.00", "500.00", "1.00"), ("C", "1000.00", "1000.00", "1.00")]
    sub = Entity.objects.get(organisation=group.organisation, code="C")
    assert client.get(member[2]["ledger_lines"]).status_code == 404  # C's ledger needs rights on C
    role_grant(actor=None, user=user, entity=sub, role="viewer")
    lines = client.get(member[2]["ledger_lines"]).json()
    assert [line["functional_amount"] for line in lines["lines"]] == ["1000.0000"]


def test_board_pack_download_is_xlsx(client, group, django_capture_on_commit_callbacks):
    client.force_login(user_with_role(group.top_entity, "controller"))
    run_id = _run(client, group, django_capture_on_commit_callbacks).json()["id"]
    resp = client.get(f"/api/v1/consolidation-runs/{run_id}/board-pack/")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(resp.content))
    assert wb["NCI"]["H5"].value == 2270  # the consolidated NCI row


def test_colleague_who_may_only_view_cannot_run(client, group, django_capture_on_commit_callbacks):
    client.force_login(user_with_role(group.top_entity, "viewer"))
    resp = _run(client, group, django_capture_on_commit_callbacks)
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"
    assert ConsolidationRun.objects.count() == 0


def test_colleague_with_rights_on_a_subsidiary_only_does_not_see_group_runs(client, group,
                                                                           django_capture_on_commit_callbacks):
    client.force_login(user_with_role(group.top_entity, "controller"))
    run_id = _run(client, group, django_capture_on_commit_callbacks).json()["id"]
    client.force_login(user_with_role(Entity.objects.get(organisation=group.organisation, code="C"), "controller"))
    assert client.get(f"/api/v1/consolidation-runs/{run_id}/").status_code == 404
    assert client.get("/api/v1/consolidation-runs/").json()["results"] == []


def test_outsider_gets_404_for_group_and_run(client, group, django_capture_on_commit_callbacks):
    client.force_login(user_with_role(group.top_entity, "controller"))
    run_id = _run(client, group, django_capture_on_commit_callbacks).json()["id"]
    client.force_login(user_with_role(EntityFactory(), "controller"))
    assert client.get(f"/api/v1/consolidation-runs/{run_id}/").status_code == 404
    resp = _run(client, group, django_capture_on_commit_callbacks)
    assert resp.status_code == 404
    assert ConsolidationRun.objects.count() == 1


def test_results_of_failed_run_are_refused(client, group, django_capture_on_commit_callbacks):
    from consolidation.models import AcquisitionAdjustment, AdjustmentLine

    client.force_login(user_with_role(group.top_entity, "controller"))
    AdjustmentLine.objects.filter(adjustment__entity__code="C").delete()
    AcquisitionAdjustment.objects.filter(entity__code="C").delete()  # C's net assets at acquisition go missing
    run_id = _run(client, group, django_capture_on_commit_callbacks).json()["id"]
    run = ConsolidationRun.objects.get(pk=run_id)
    assert run.status == RunStatus.FAILED and run.error["code"] == "net_assets_missing"
    resp = client.get(f"/api/v1/consolidation-runs/{run_id}/results/")
    assert resp.status_code == 409 and resp.json()["code"] == "consolidation_run_not_succeeded"


def test_admin_run_page_shows_progress_and_drill_down(client, group, django_capture_on_commit_callbacks):
    from django.contrib.auth import get_user_model

    client.force_login(user_with_role(group.top_entity, "controller"))
    run_id = _run(client, group, django_capture_on_commit_callbacks).json()["id"]
    admin_user = get_user_model().objects.create_superuser("root", "root@example.test", "x")
    from tests.factories import member

    member(admin_user, group.organisation, org_admin=True)
    client.force_login(admin_user)
    page = client.get(f"/admin/consolidation/consolidationrun/{run_id}/change/")
    assert page.status_code == 200
    assert "<strong>Succeeded</strong>" in page.content.decode()
    figure = client.get(f"/admin/consolidation/consolidationrun/{run_id}/accounts/3400/").content.decode()
    assert re.search(r"<td>C</td>\s*<td>nci_profit</td><td>[^<]*</td><td class=\"num\"></td>"
                     r"<td class=\"num\"></td><td class=\"num\">-460.00</td>", figure)


def test_board_pack_is_served_to_a_client_asking_for_xlsx(client, group, django_capture_on_commit_callbacks):
    """The schema documents the pack as XLSX: asking for exactly that is not 406 (found by the
    TypeScript walk, tests/clients)."""
    client.force_login(user_with_role(group.top_entity, "controller"))
    run_id = _run(client, group, django_capture_on_commit_callbacks).json()["id"]
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    resp = client.get(f"/api/v1/consolidation-runs/{run_id}/board-pack/", HTTP_ACCEPT=xlsx)
    assert resp.status_code == 200 and resp["Content-Type"] == xlsx
    assert load_workbook(io.BytesIO(resp.content))["NCI"]["H5"].value == 2270
    missing = client.get("/api/v1/consolidation-runs/999999/board-pack/", HTTP_ACCEPT=xlsx)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
