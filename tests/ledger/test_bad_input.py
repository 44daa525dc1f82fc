"""Bad input is a 4xx problem+json, never a 5xx and never accepted leniently (issue 15.7)."""
import json

import pytest
from django.core.management import call_command
from django.test import override_settings

from ledger.api.views import TrialBalanceView
from ledger.models import JournalEntry
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def preparer(world):
    return user_with_role(world.entity, "preparer")


def gl(world, **params):
    return {"entity": world.entity.code, "period": "2026-03", "account": "1200", **params}


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "-5"}, "limit"), ({"limit": "0"}, "limit"), ({"limit": "1e3"}, "limit"),
    ({"offset": "-1"}, "offset"), ({"offset": "99999999999999999999"}, "offset"), ({"limit": "١٠"}, "limit")])
def test_general_ledger_paging_out_of_range_is_a_400_naming_the_parameter(client, world, preparer, params, field):
    client.force_login(preparer)
    resp = client.get("/api/v1/reports/general-ledger/", gl(world, **params))
    assert (resp.status_code, resp["Content-Type"]) == (400, PROBLEM), resp.content
    assert [e["field"] for e in resp.json()["errors"]] == [field]


def test_trial_balance_lines_paging_out_of_range_is_a_400(client, world, preparer):
    client.force_login(preparer)
    resp = client.get("/api/v1/reports/trial-balance/lines/", gl(world, after="99999999999999999999"))
    assert (resp.status_code, resp["Content-Type"]) == (400, PROBLEM), resp.content


@pytest.mark.parametrize("url", ["/api/v1/reports/trial-balance/?entity=AC%00ME&period=2026-03",
                                 "/api/v1/journal-entries/?status=dr%00aft",
                                 "/api/v1/journal-entries/?sta%00tus=draft"])
def test_a_nul_byte_in_a_query_parameter_is_a_400(client, world, preparer, url):
    client.force_login(preparer)
    resp = client.get(url)
    assert (resp.status_code, resp["Content-Type"]) == (400, PROBLEM), resp.content
    assert "NUL" in resp.json()["detail"]


def entry(world, **line):
    return {"entity": world.entity.code, "entry_date": "2026-03-10", "description": "x",
            "lines": [{"account": "1200", "amount": "10.00", **line}, {"account": "4100", "amount": "-10.00"}]}


def test_a_nul_byte_in_a_dimensions_key_or_value_is_a_400_and_nothing_is_written(client, world, preparer):
    client.force_login(preparer)
    for dims in ({"cost\u0000centre": "S1"}, {"cost_centre": "S\u00001"}):
        resp = client.post("/api/v1/journal-entries/", entry(world, dimensions=dims), content_type="application/json")
        assert (resp.status_code, resp["Content-Type"]) == (400, PROBLEM), resp.content
    assert JournalEntry.objects.count() == 0


def test_json_nested_five_thousand_levels_is_a_400(client, world, preparer):
    client.force_login(preparer)
    body = '{"entity": ' + "[" * 5000 + "]" * 5000 + "}"
    resp = client.post("/api/v1/journal-entries/", body, content_type="application/json")
    assert (resp.status_code, resp["Content-Type"]) == (400, PROBLEM), resp.content
    deep = json.dumps(entry(world, dimensions={"a": "b"})).replace('"b"', "[" * 40 + "]" * 40)
    resp = client.post("/api/v1/journal-entries/", deep, content_type="application/json")
    assert (resp.status_code, resp["Content-Type"]) == (400, PROBLEM), resp.content


@pytest.mark.parametrize("amount", ["1e1", " +10.00 ", "+10.00", "١٠", "10_0", "1E+1", " 10", "10 ", "0x10"])
def test_an_amount_string_that_is_not_a_plain_decimal_is_refused(client, world, preparer, amount):
    client.force_login(preparer)
    body = entry(world, amount=amount)
    resp = client.post("/api/v1/journal-entries/", body, content_type="application/json")
    assert (resp.status_code, resp["Content-Type"]) == (400, PROBLEM), resp.content
    assert [(e["field"], e["code"]) for e in resp.json()["errors"]] == [("lines[0].amount", "invalid")]
    assert JournalEntry.objects.count() == 0


@pytest.mark.parametrize("field", ["functional_amount", "rate"])
def test_functional_amount_and_rate_take_the_same_strict_strings(client, world, preparer, field):
    client.force_login(preparer)
    resp = client.post("/api/v1/journal-entries/", entry(world, currency="USD", **{field: "1e0"}),
                       content_type="application/json")
    assert resp.status_code == 400
    assert (f"lines[0].{field}", "invalid") in [(e["field"], e["code"]) for e in resp.json()["errors"]]


@pytest.mark.parametrize("amount", ["10", "10.00", "-10.5", ".5", "5."])
def test_plain_decimal_strings_are_still_accepted(client, world, preparer, amount):
    client.force_login(preparer)
    body = entry(world, amount=amount)
    body["lines"][1]["amount"] = "-" + amount.lstrip("-") if not amount.startswith("-") else amount.lstrip("-")
    resp = client.post("/api/v1/journal-entries/", body, content_type="application/json")
    assert resp.status_code == 201, resp.json()


def test_the_evidence_export_without_a_signing_key_is_a_503_saying_so(client, world, settings):
    settings.SHESHI_AUDIT_SIGNING_KEY = ""
    client.force_login(user_with_role(world.entity, "auditor"))
    resp = client.get("/api/v1/audit/evidence/", {"organisation_id": world.org.pk, "period": "2026-01"})
    assert (resp.status_code, resp["Content-Type"]) == (503, PROBLEM), resp.content
    assert resp.json()["code"] == "audit_signing_key_missing"
    assert "SHESHI_AUDIT_SIGNING_KEY" in resp.json()["detail"]


def test_check_deploy_fails_without_an_audit_signing_key(settings):
    from django.core.management.base import SystemCheckError

    settings.SHESHI_AUDIT_SIGNING_KEY = ""
    with pytest.raises(SystemCheckError) as exc:
        call_command("check", "--deploy", "--fail-level", "ERROR")
    assert "sheshi.E003" in str(exc.value)


def test_the_env_example_lists_the_field_keys():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "deploy" / "sheshi.env.example").read_text()
    assert "\nSHESHI_FIELD_KEYS=" in text and "\nSHESHI_AUDIT_SIGNING_KEY=" in text


def test_an_unhandled_error_on_an_api_path_is_problem_json_even_with_debug_on(client, world, preparer, monkeypatch):
    def boom(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(TrialBalanceView, "get", boom)
    client.force_login(preparer)
    client.raise_request_exception = False
    with override_settings(DEBUG=True):
        resp = client.get("/api/v1/reports/trial-balance/", {"entity": world.entity.code, "period": "2026-03"})
    assert (resp.status_code, resp["Content-Type"]) == (500, PROBLEM)
    assert resp.json()["code"] == "server_error" and "a bug" not in resp.content.decode()


def test_check_deploy_with_production_settings_fails_without_an_audit_signing_key():
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "SHESHI_AUDIT_SIGNING_KEY"}
    env.update({"DJANGO_SETTINGS_MODULE": "sheshi.settings.prod", "SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "x",
                "SHESHI_FIELD_KEYS": "dGVzdC1vbmx5LWZpZWxkLWtleS1ub3Qtc2VjcmV0LTA="})
    out = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], env=env, capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode != 0 and "sheshi.E003" in out.stderr, out.stdout + out.stderr
