"""The consolidation workspace over /api/v1 (issues #17, #18): rate files, statements, a member's
part of a figure, run comparison, the IC worklist and the group lock - the same services as the
admin, the same refusals; an outsider gets 404, a viewer 403, bad input 400, never a 500."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from consolidation.models import ConsolidationGroup, FxRate, IcDifference
from periods.models import EntityPeriod, GroupPeriodLock
from sheshi.access.services.grants import role_grant
from sheshi.tenancy.models import Entity
from tests.conditional import post_if_match
from tests.consolidation.helpers import CASES_DIR
from tests.factories import EntityFactory, user_with_role
from tests.locking import lock_through

pytestmark = pytest.mark.django_db
JSON = "application/json"


def load(case: str, org: str) -> ConsolidationGroup:
    call_command("load_group_pack", str(CASES_DIR / f"{case}.json"), "--org", org, stdout=io.StringIO())
    return ConsolidationGroup.objects.select_related("top_entity", "organisation").get(organisation__code=org)


def run(client, group, capture) -> int:
    with capture(execute=True):
        response = client.post("/api/v1/consolidation-runs/", {"group": group.pk, "period": "2024-12"},
                               content_type=JSON)
    assert response.status_code == 202, response.content
    return response.json()["id"]


def test_a_rate_file_is_uploaded_or_refused_with_every_row(client):
    entity = EntityFactory()
    client.force_login(user_with_role(entity, "controller"))
    bad = SimpleUploadedFile("r.csv", b"from,to,type,rate,date\nUSD,EUR,closing,x,2026-03-31\nUSD,EUR,spot,1,2026\n")
    response = client.post("/api/v1/fx-rates/upload/", {"organisation": entity.organisation_id, "file": bad})
    assert response.status_code == 400
    assert [(e["row"], e["field"], e["code"]) for e in response.json()["errors"]] == [
        (2, "rate", "invalid_rate"), (3, "type", "invalid_type"), (3, "date", "invalid_date")]
    assert FxRate.objects.count() == 0
    good = SimpleUploadedFile("r.csv", b"from,to,type,rate,date\nUSD,EUR,closing,0.91,2026-03-31\n")
    response = client.post("/api/v1/fx-rates/upload/", {"organisation": entity.organisation_id, "file": good})
    assert (response.status_code, response.json()) == (201, {"created": 1})
    assert FxRate.objects.get().rate == Decimal("0.91")


def test_a_viewer_cannot_upload_rates_and_an_outsider_sees_no_organisation(client):
    entity = EntityFactory()
    good = b"from,to,type,rate,date\nUSD,EUR,closing,0.91,2026-03-31\n"
    client.force_login(user_with_role(entity, "viewer"))
    response = client.post("/api/v1/fx-rates/upload/", {"organisation": entity.organisation_id,
                                                         "file": SimpleUploadedFile("r.csv", good)})
    assert response.status_code == 403
    client.force_login(user_with_role(EntityFactory(), "controller"))
    response = client.post("/api/v1/fx-rates/upload/", {"organisation": entity.organisation_id,
                                                         "file": SimpleUploadedFile("r.csv", good)})
    assert response.status_code == 404
    assert FxRate.objects.count() == 0


def test_statements_member_drill_and_compare(client, django_capture_on_commit_callbacks):
    group = load("three_level_chain", "CHAIN")
    user = user_with_role(group.top_entity, "controller")
    client.force_login(user)
    first = run(client, group, django_capture_on_commit_callbacks)
    body = client.get(f"/api/v1/consolidation-runs/{first}/statements/").json()
    totals = body["statements"]["totals"]
    assert (totals["nci"], totals["profit_nci"], totals["balances"]) == ("2270.00", "510.00", True)
    assert body["worksheet"]["columns"] == ["P", "B", "C", "investment", "nci_profit"]
    member = client.get(f"/api/v1/consolidation-runs/{first}/accounts/1000/members/C/").json()
    assert (member["local_amount"], member["translated"], member["ledger"]) == ("1000", "1000.00", None)
    role_grant(actor=None, user=user, entity=Entity.objects.get(organisation=group.organisation, code="C"),
               role="viewer")
    member = client.get(f"/api/v1/consolidation-runs/{first}/accounts/1000/members/C/").json()
    assert [line["functional_amount"] for line in member["ledger"]["lines"]] == ["1000.0000"]
    second = run(client, group, django_capture_on_commit_callbacks)
    cmp = client.get(f"/api/v1/consolidation-runs/{first}/compare/?with={second}").json()
    assert (cmp["same_inputs"], cmp["changed_sections"], cmp["moved"]) == (True, [], [])
    assert client.get(f"/api/v1/consolidation-runs/{first}/compare/?with=abc").status_code == 400
    assert client.get(f"/api/v1/consolidation-runs/{first}/accounts/1000/members/ZZ/").status_code == 404


def test_ic_worklist_over_the_api_and_the_group_lock(client, django_capture_on_commit_callbacks):
    group = load("intercompany_mismatch", "ICM")
    controller = user_with_role(group.top_entity, "controller")
    sub = Entity.objects.get(organisation=group.organisation, code="S")
    role_grant(actor=None, user=controller, entity=sub, role="controller")
    client.force_login(controller)
    run_id = run(client, group, django_capture_on_commit_callbacks)
    rows = client.get(f"/api/v1/ic-differences/?run={run_id}&status=open").json()["results"]
    assert [(r["entity"], r["account"], r["counterparty"], r["difference"], r["status"]) for r in rows] == [
        ("P", "1200", "S", "250.0000", "open"), ("P", "2200", "S", "100.0000", "open")]
    first, second = rows[0]["id"], rows[1]["id"]
    refused = post_if_match(client, f"/api/v1/ic-differences/{first}/explain/", {"explanation": " "}, content_type=JSON)
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "explanation"
    assert post_if_match(client, f"/api/v1/ic-differences/{first}/explain/", {}, content_type=JSON).status_code == 400
    for ep in EntityPeriod.objects.filter(entity__organisation=group.organisation, period__code="2024-12"):
        lock_through(actor=None, entity_period_id=ep.pk)
    locked = post_if_match(client, f"/api/v1/consolidation-groups/{group.pk}/lock/",
                           {"period": "2024-12"}, content_type=JSON)
    assert locked.status_code == 422 and locked.json()["code"] == "ic_differences_unresolved"
    assert [e["value"] for e in locked.json()["errors"]] == [str(first), str(second)]
    done = post_if_match(client, f"/api/v1/ic-differences/{first}/explain/", {"explanation": "S books it in January"},
                         content_type=JSON)
    assert (done.status_code, done.json()["status"]) == (200, "explained")
    assert post_if_match(client, f"/api/v1/ic-differences/{second}/assign/", {"assignee": controller.username},
                         content_type=JSON).json()["assignee"] == controller.username
    assert client.post(f"/api/v1/ic-differences/{second}/comments/", {"text": "Cash in transit"},
                       content_type=JSON).status_code == 201
    assert post_if_match(client, f"/api/v1/ic-differences/{second}/resolve/", {"resolution": "Received 2 Jan"},
                         content_type=JSON).json()["status"] == "resolved"
    locked = post_if_match(client, f"/api/v1/consolidation-groups/{group.pk}/lock/",
                           {"period": "2024-12"}, content_type=JSON)
    assert locked.status_code == 201 and GroupPeriodLock.objects.filter(group_key="GROUP").count() == 1
    unlocked = post_if_match(client, f"/api/v1/consolidation-groups/{group.pk}/unlock/",
                             {"period": "2024-12", "reason": ""},
                             content_type=JSON)
    assert (unlocked.status_code, unlocked.json()["code"]) == (422, "reason_required")
    assert GroupPeriodLock.objects.count() == 1
    unlocked = post_if_match(client, f"/api/v1/consolidation-groups/{group.pk}/unlock/",
                             {"period": "2024-12", "reason": "restatement"}, content_type=JSON)
    assert unlocked.status_code == 204 and GroupPeriodLock.objects.count() == 0
    again = post_if_match(client, f"/api/v1/consolidation-groups/{group.pk}/unlock/",
                          {"period": "2024-12", "reason": "restatement"}, content_type=JSON)
    assert (again.status_code, again.json()["code"]) == (409, "group_not_locked")


def test_worklist_changes_are_conditional_and_a_retried_comment_is_replayed(client,
                                                                            django_capture_on_commit_callbacks):
    """Two people on one row: a change sent with the ETag of an older read is 412 and writes
    nothing; a comment retried with its Idempotency-Key is the first answer again, even though the
    row (and so its ETag) changed with that first comment."""
    group = load("intercompany_mismatch", "ICM")
    controller = user_with_role(group.top_entity, "controller")
    client.force_login(controller)
    run_id = run(client, group, django_capture_on_commit_callbacks)
    row = client.get(f"/api/v1/ic-differences/?run={run_id}&status=open").json()["results"][0]["id"]
    read = client.get(f"/api/v1/ic-differences/{row}/")
    tag = read["ETag"]
    comment = client.post(f"/api/v1/ic-differences/{row}/comments/", {"text": "Cash in transit"}, content_type=JSON,
                          HTTP_IF_MATCH=tag, HTTP_IDEMPOTENCY_KEY="c-1")
    assert comment.status_code == 201 and comment["ETag"] != tag
    retried = client.post(f"/api/v1/ic-differences/{row}/comments/", {"text": "Cash in transit"},
                          content_type=JSON, HTTP_IF_MATCH=tag, HTTP_IDEMPOTENCY_KEY="c-1")
    assert (retried.status_code, retried["Idempotent-Replayed"], retried.json()) == (201, "true", comment.json())
    assert IcDifference.objects.get(pk=row).comments.count() == 1
    stale = post_if_match(client, f"/api/v1/ic-differences/{row}/explain/",
                          {"explanation": "timing"}, content_type=JSON,
                          HTTP_IF_MATCH=tag)
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    assert IcDifference.objects.get(pk=row).status == "open"
    fresh = post_if_match(client, f"/api/v1/ic-differences/{row}/explain/",
                          {"explanation": "timing"}, content_type=JSON,
                          HTTP_IF_MATCH=comment["ETag"])
    assert (fresh.status_code, fresh.json()["status"]) == (200, "explained")

    group_tag = client.get(f"/api/v1/consolidation-groups/{group.pk}/")["ETag"]
    wrong = post_if_match(client, f"/api/v1/consolidation-groups/{group.pk}/lock/",
                          {"period": "2024-12"}, content_type=JSON,
                          HTTP_IF_MATCH='"' + "0" * 32 + '"')
    assert (wrong.status_code, wrong.json()["code"]) == (412, "precondition_failed")
    refused = post_if_match(client, f"/api/v1/consolidation-groups/{group.pk}/lock/", {"period": "2024-12"},
                            content_type=JSON, HTTP_IF_MATCH=group_tag)
    assert refused.json()["code"] == "ic_differences_unresolved"  # past the precondition, to the rules
    assert not GroupPeriodLock.objects.exists()


def test_ic_worklist_is_invisible_to_an_outsider_and_read_only_to_a_viewer(client, django_capture_on_commit_callbacks):
    group = load("intercompany_mismatch", "ICM")
    client.force_login(user_with_role(group.top_entity, "controller"))
    run(client, group, django_capture_on_commit_callbacks)
    row = IcDifference.objects.order_by("pk").first()
    client.force_login(user_with_role(EntityFactory(), "controller"))
    assert client.get("/api/v1/ic-differences/").json()["results"] == []
    assert post_if_match(client, f"/api/v1/ic-differences/{row.pk}/resolve/", {"resolution": "x"},
                         content_type=JSON).status_code == 404
    client.force_login(user_with_role(group.top_entity, "viewer"))
    assert len(client.get("/api/v1/ic-differences/").json()["results"]) == 2
    assert post_if_match(client, f"/api/v1/ic-differences/{row.pk}/resolve/", {"resolution": "x"},
                         content_type=JSON).status_code == 403
    assert post_if_match(client, f"/api/v1/consolidation-groups/{group.pk}/lock/", {"period": "2024-12"},
                         content_type=JSON).status_code == 403
    row.refresh_from_db()
    assert (row.status, row.resolution) == ("open", "")
