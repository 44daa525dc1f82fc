"""Setting a consolidation up over the API: FX rates (fx_rate_create), groups
(consolidation_group_create) and holdings (group_member_add) — decimal strings in and out,
database refusals as problem+json, and nothing written on a refusal."""
from __future__ import annotations

import pytest

from audit.models import AuditEvent
from consolidation.models import ConsolidationGroup, FxRate, GroupMember
from tests.factories import EntityFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def parent():
    return EntityFactory(code="CPAR", functional_currency="EUR")


@pytest.fixture
def sub(parent):
    return EntityFactory(code="CSUB", organisation=parent.organisation, functional_currency="USD")


@pytest.fixture
def controller(parent):
    return user_with_role(parent, "controller")


def rate_body(org, **kw):
    return {"organisation": org.pk, "from_currency": "USD", "to_currency": "EUR", "rate_type": "closing",
            "rate_date": "2026-03-31", "rate": "0.912345678901", **kw}


def test_fx_rate_keeps_every_digit_and_a_duplicate_is_409(client, parent, controller):
    client.force_login(controller)
    resp = client.post("/api/v1/fx-rates/", rate_body(parent.organisation), content_type="application/json")
    assert resp.status_code == 201, resp.json()
    assert resp.json()["rate"] == "0.912345678901"
    assert AuditEvent.objects.filter(object_id=str(resp.json()["id"]), action="insert").exists()
    again = client.post("/api/v1/fx-rates/", rate_body(parent.organisation), content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "fx_rate_duplicate"
    listed = client.get("/api/v1/fx-rates/", {"rate_date_from": "2026-03-01", "from_currency": "USD"}).json()
    assert [r["rate"] for r in listed["results"]] == ["0.912345678901"]
    assert FxRate.objects.count() == 1


def test_fx_rate_input_is_checked(client, parent, controller):
    client.force_login(controller)
    for body, field in (({"rate": "1e3"}, "rate"), ({"rate_type": "spot"}, "rate_type"),
                        ({"to_currency": "eur"}, "to_currency")):
        resp = client.post("/api/v1/fx-rates/", rate_body(parent.organisation, **body), content_type="application/json")
        assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == field, resp.json()
    same = client.post("/api/v1/fx-rates/", rate_body(parent.organisation, to_currency="USD"),
                       content_type="application/json")
    assert same.status_code == 422 and same.json()["code"] == "fx_rate_same_currency"
    assert not FxRate.objects.exists()


def test_a_viewer_reads_rates_but_cannot_enter_one(client, parent):
    client.force_login(user_with_role(parent, "viewer"))
    assert client.get("/api/v1/fx-rates/").status_code == 200
    resp = client.post("/api/v1/fx-rates/", rate_body(parent.organisation), content_type="application/json")
    assert resp.status_code == 403 and not FxRate.objects.exists()


def test_group_and_holding_are_created_through_the_services(client, parent, sub, controller):
    client.force_login(controller)
    resp = client.post("/api/v1/consolidation-groups/", {"code": "GRP", "name": "Group", "top_entity": "CPAR"},
                       content_type="application/json")
    assert resp.status_code == 201, resp.json()
    group_id = resp.json()["id"]
    dup = client.post("/api/v1/consolidation-groups/", {"code": "GRP", "name": "Again", "top_entity": "CPAR"},
                      content_type="application/json")
    assert dup.status_code == 409 and dup.json()["code"] == "group_code_taken"
    holding = {"group": group_id, "entity": "CSUB", "parent": "CPAR", "ownership_pct": "75.5000",
               "acquired_on": "2026-01-01"}
    resp = client.post("/api/v1/holdings/", holding, content_type="application/json")
    assert resp.status_code == 201, resp.json()
    assert (resp.json()["ownership_pct"], resp.json()["valid_from"], resp.json()["valid_to"]) == \
        ("75.5000", "2026-01-01", None)
    overlap = client.post("/api/v1/holdings/", holding, content_type="application/json")
    assert overlap.status_code == 409 and overlap.json()["code"] == "holding_overlap"
    unknown = client.post("/api/v1/holdings/", {**holding, "entity": "NOPE"}, content_type="application/json")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "entity"
    listed = client.get("/api/v1/holdings/", {"group_id": group_id}).json()["results"]
    assert sorted(h["entity"] for h in listed) == ["CPAR", "CSUB"]
    assert GroupMember.objects.filter(group_id=group_id).count() == 2


def test_a_group_topped_by_an_invisible_entity_is_404(client, parent, sub):
    client.force_login(user_with_role(sub, "controller"))
    resp = client.post("/api/v1/consolidation-groups/", {"code": "GRP", "name": "Group", "top_entity": "CPAR"},
                       content_type="application/json")
    assert resp.status_code == 404 and not ConsolidationGroup.objects.exists()


@pytest.fixture
def group_with_chart(client, parent, sub, controller):
    from consolidation.services.runs import consolidation_group_create, group_member_add
    from tests.ledger.helpers import build_chart

    build_chart(parent.organisation)
    group = consolidation_group_create(actor=None, organisation=parent.organisation, code="GRP", name="Group",
                                       top_entity=parent)
    group_member_add(actor=None, group=group, entity=sub, parent=parent, ownership_pct="80", acquired_on="2026-01-01")
    client.force_login(controller)
    return group


def test_acquisition_facts_are_recorded_through_adjustment_record(client, group_with_chart):
    from periods.services.transitions import fiscal_year_generate

    fiscal_year_generate(organisation=group_with_chart.organisation, year=2026)
    facts = "/api/v1/acquisition-facts/"
    body = {"group": group_with_chart.pk, "kind": "net_assets_at_acquisition", "entity": "CSUB",
            "lines": [{"account": "1200", "amount": "1000.5000"}, {"account": "4100", "amount": "-1000.5000"}]}
    resp = client.post(facts, body, content_type="application/json")
    assert resp.status_code == 201, resp.json()
    assert resp.json()["lines"] == [{"account": "1200", "amount": "1000.5000"},
                                    {"account": "4100", "amount": "-1000.5000"}]
    again = client.post(facts, body, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "net_assets_duplicate"
    missing = client.post(facts, {"group": group_with_chart.pk, "kind": "unrealised_profit", "entity": "CSUB"},
                          content_type="application/json")
    assert missing.status_code == 400
    assert {e["field"] for e in missing.json()["errors"]} == {"period", "buyer", "amount", "inventory_account",
                                                               "cogs_account"}
    profit = {"group": group_with_chart.pk, "kind": "unrealised_profit", "entity": "CSUB", "buyer": "CPAR",
              "period": "2026-03", "amount": "12.3400", "inventory_account": "1200", "cogs_account": "5100"}
    ok = client.post(facts, profit, content_type="application/json")
    assert ok.status_code == 201, ok.json()
    assert (ok.json()["amount"], ok.json()["buyer"], ok.json()["period"]) == ("12.3400", "CPAR", "2026-03")
    negative = client.post(facts, {**profit, "amount": "-1.0000"}, content_type="application/json")
    assert negative.status_code == 422 and negative.json()["code"] == "unrealised_profit_incomplete"
    unknown = client.post(facts, {**body, "lines": [{"account": "NOPE", "amount": "1.0000"}]},
                          content_type="application/json")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "lines[0].account"
