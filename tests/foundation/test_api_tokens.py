"""API tokens: `manage.py api_token_issue` and /api/v1/tokens/ (the caller's own tokens), both
through sheshi.access.services.tokens; the secret is shown once, only its hash is stored."""
import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from sheshi.access.models import ApiToken
from tests.factories import EntityFactory, user_with_role

pytestmark = pytest.mark.django_db

URL = "/api/v1/tokens/"


@pytest.fixture
def entity():
    return EntityFactory(code="TKN1")


@pytest.fixture
def viewer(entity):
    return user_with_role(entity, "viewer", username="tk_viewer")


def issue(client, **body):
    return client.post(URL, {"name": "ERP sync", "scopes": ["read"], **body}, content_type="application/json")


def test_issue_shows_the_secret_once_and_stores_only_its_hash(client, viewer):
    client.force_login(viewer)
    resp = issue(client, days=30)
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    secret = body["token"]
    assert secret.startswith(f"shs_{body['prefix']}_")
    token = ApiToken.objects.get(pk=body["id"])
    assert token.user == viewer and token.scopes == ["read"]
    assert token.key_hash == hashlib.sha256(secret.split("_", 2)[2].encode()).hexdigest()
    listed = client.get(URL).json()["results"]
    assert [t["id"] for t in listed] == [token.pk] and "token" not in listed[0]
    assert client.get("/api/v1/entities/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    assert AuditEvent.objects.filter(object_type="access.apitoken", object_id=str(token.pk), action="insert").exists()


def test_bad_scopes_and_lifetimes_are_field_errors(client, viewer):
    client.force_login(viewer)
    for body, field in (({"scopes": ["admin"]}, "scopes[0]"), ({"scopes": []}, "scopes"), ({"days": 0}, "days"),
                        ({"days": 5000}, "days")):
        resp = issue(client, **body)
        assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == field, (body, resp.json())
    assert not ApiToken.objects.exists()


def test_a_token_cannot_issue_tokens(client, viewer):
    from sheshi.access.services.tokens import api_token_issue

    _, raw = api_token_issue(user=viewer, name="rw", scopes=["read", "write"])
    resp = client.post(
        URL, {"name": "x", "scopes": ["read"]}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert resp.status_code == 403 and resp.json()["code"] == "session_required"
    assert ApiToken.objects.count() == 1


def test_revoke_own_token_and_it_stops_working(client, viewer):
    client.force_login(viewer)
    body = issue(client).json()
    resp = client.post(f"{URL}{body['id']}/revoke/")
    assert resp.status_code == 200 and resp.json()["revoked_at"]
    first = ApiToken.objects.get(pk=body["id"]).revoked_at
    assert client.post(f"{URL}{body['id']}/revoke/").status_code == 200
    assert ApiToken.objects.get(pk=body["id"]).revoked_at == first
    client.logout()
    assert client.get("/api/v1/entities/", HTTP_AUTHORIZATION=f"Bearer {body['token']}").status_code == 401


def test_another_users_token_is_invisible(client, entity, viewer):
    client.force_login(viewer)
    mine = issue(client).json()
    colleague = user_with_role(entity, "controller", username="tk_colleague")
    client.force_login(colleague)
    assert client.get(URL).json()["results"] == []
    assert client.post(f"{URL}{mine['id']}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=mine["id"]).revoked_at is None


def test_command_prints_the_secret_once(viewer):
    out, err = StringIO(), StringIO()
    call_command("api_token_issue", "--user", "tk_viewer", "--name", "nightly", "--scope", "read", "--scope", "write",
                 "--days", "7", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    token = ApiToken.objects.get(user=viewer)
    assert secret.startswith(f"shs_{token.prefix}_") and token.scopes == ["read", "write"]
    assert secret not in err.getvalue() and "shown once" in err.getvalue()
    assert round((token.expires_at - token.created_at).total_seconds() / 86400) == 7


def test_command_refuses_unknown_users_and_bad_lifetimes(viewer):
    with pytest.raises(CommandError, match="No active user"):
        call_command("api_token_issue", "--user", "nobody", "--name", "x", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="days"):
        call_command("api_token_issue", "--user", "tk_viewer", "--name", "x", "--days", "0", stdout=StringIO(),
                     stderr=StringIO())
    assert not ApiToken.objects.exists()
