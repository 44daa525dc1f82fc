"""A token request's database context is set by the token's own statement (issue #18 item 4):
the context as it was, the token and its user, and the new context in one round trip instead of
three (sheshi/request_context.py DeferredContext, sheshi/access/services/tokens.py). The context
is what the middleware and apply_user_context set before: the user's once the token holds, the
anonymous one otherwise, the previous one restored after the request."""
from __future__ import annotations

import contextvars
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request

from sheshi.access.memo import request_scope
from sheshi.access.models import ApiToken
from sheshi.access.services import tokens
from sheshi.access.services.tokens import ApiTokenAuthentication, api_token_issue
from sheshi.db.context import current_context, set_context
from sheshi.request_context import DeferredContext
from tests.factories import EntityFactory, user_with_role

pytestmark = pytest.mark.django_db

# The suite's own context (tests/conftest.py), marked: what a request must find again afterwards.
AT_REST = {"sheshi.org_ids": "*", "sheshi.actor_id": "", "sheshi.actor_label": "system:tests",
           "sheshi.request_id": "rest", "sheshi.client_addr": ""}


# Once per connection (PREPARE) or only inside the test's own transaction (savepoints around it).
_NOT_ROUND_TRIPS_OF_THE_PATH = ("PREPARE", "SAVEPOINT", "RELEASE SAVEPOINT")


@pytest.fixture
def viewer():
    set_context(AT_REST)  # an actor for the set-up's audited writes
    return user_with_role(EntityFactory(code="TKC1"), "viewer", username="tkc_viewer")


def _request(raw: str, method: str = "get"):
    django_request = getattr(RequestFactory(), method)("/api/v1/entities/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    django_request.request_id = "req-tkc"
    deferred = DeferredContext({"sheshi.org_ids": "", "sheshi.actor_id": "", "sheshi.actor_label": "",
                                "sheshi.request_id": "req-tkc", "sheshi.client_addr": "127.0.0.1"})
    django_request.sheshi_deferred_context = deferred
    return Request(django_request), deferred


def _authenticate(raw: str, method: str = "get"):
    """(outcome, the context afterwards, the context the statement replaced, statements run), the
    request's log variables (user id, org ids) kept to this call as a request keeps them."""
    return contextvars.copy_context().run(_authenticate_in_context, raw, method)


def _authenticate_in_context(raw: str, method: str):
    set_context(AT_REST)
    request, deferred = _request(raw, method)
    with request_scope(), CaptureQueriesContext(connection) as ctx:
        try:
            outcome = ApiTokenAuthentication().authenticate(request)
        except exceptions.APIException as exc:
            outcome = type(exc).__name__
        context = current_context()
    run = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(_NOT_ROUND_TRIPS_OF_THE_PATH)]
    return outcome, context, deferred.previous, run[:-1]


def test_a_good_token_sets_the_users_context_in_the_statement_that_finds_it(viewer):
    token, raw = api_token_issue(user=viewer, name="r", scopes=["read"])
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())  # no last-use stamp this time
    outcome, context, previous, sql = _authenticate(raw)
    assert outcome[0] == viewer and outcome[1].pk == token.pk and outcome[1].scopes == ["read"]
    org = str(viewer.memberships.get().organisation_id)
    assert context == {"sheshi.org_ids": org, "sheshi.actor_id": str(viewer.pk),
                       "sheshi.actor_label": "user:tkc_viewer", "sheshi.request_id": "req-tkc",
                       "sheshi.client_addr": "127.0.0.1"}
    assert previous == AT_REST
    assert len(sql) == 1 and sql[0].startswith("EXECUTE")  # one round trip: context, token, context


@pytest.mark.parametrize("case", ["bad secret", "unknown prefix", "revoked", "inactive user", "read-only write"])
def test_a_token_that_does_not_hold_leaves_the_anonymous_context(viewer, case):
    token, raw = api_token_issue(user=viewer, name="r", scopes=["read"])
    method = "get"
    if case == "bad secret":
        raw = raw[:-2] + ("AA" if not raw.endswith("AA") else "BB")
    elif case == "unknown prefix":
        raw = "shs_00000000_" + raw.split("_", 2)[2]
    elif case == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    elif case == "inactive user":
        type(viewer).objects.filter(pk=viewer.pk).update(is_active=False)
    else:
        method = "post"
    outcome, context, previous, _ = _authenticate(raw, method)
    assert outcome == ("PermissionDenied" if case == "read-only write" else "AuthenticationFailed")
    assert context == {"sheshi.org_ids": "", "sheshi.actor_id": "", "sheshi.actor_label": "",
                       "sheshi.request_id": "req-tkc", "sheshi.client_addr": "127.0.0.1"}
    assert previous == AT_REST


def test_python_decides_when_the_two_clocks_disagree(viewer):
    token, raw = api_token_issue(user=viewer, name="r", scopes=["read"])
    now = timezone.now()
    # PostgreSQL's clock: the token holds; Python's (an hour later than expiry): expired. Anonymous.
    ApiToken.objects.filter(pk=token.pk).update(expires_at=now + timedelta(minutes=30))
    with mock.patch.object(tokens.timezone, "now", return_value=now + timedelta(hours=1)):
        outcome, context, _, _ = _authenticate(raw)
    assert outcome == "AuthenticationFailed" and context["sheshi.actor_id"] == "" and context["sheshi.org_ids"] == ""
    # The other way round: PostgreSQL says expired, Python (before expiry) lets it in: the user's context.
    set_context(AT_REST)
    ApiToken.objects.filter(pk=token.pk).update(created_at=now - timedelta(hours=2),
                                                expires_at=now - timedelta(hours=1))
    with mock.patch.object(tokens.timezone, "now", return_value=now - timedelta(hours=1, minutes=30)):
        outcome, context, _, _ = _authenticate(raw)
    assert outcome[0] == viewer and context["sheshi.actor_id"] == str(viewer.pk) and context["sheshi.org_ids"]


def test_a_statement_before_the_token_sets_the_anonymous_context_first(viewer):
    set_context(AT_REST)
    _, deferred = _request("shs_x_y")
    with connection.execute_wrapper(deferred), connection.cursor() as cur:
        cur.execute("SELECT current_setting('sheshi.request_id'), current_setting('sheshi.actor_label')")
        assert cur.fetchone() == ("req-tkc", "")
    assert deferred.previous == AT_REST and not deferred.take()  # set once; the token path then looks up alone


def test_through_the_middleware_the_previous_context_comes_back(client, viewer):
    _, raw = api_token_issue(user=viewer, name="r", scopes=["read"])
    set_context(AT_REST)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/entities/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert current_context() == AT_REST
    run = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(_NOT_ROUND_TRIPS_OF_THE_PATH)]
    assert "set_config" not in run[0] and run[0].startswith("EXECUTE")  # the token's statement first
    assert [s for s in run if "set_config" in s] == [run[-1]]  # and no other context statement but the restore
    # No token: nothing deferred, the middleware sets the anonymous context as before.
    assert client.get("/api/v1/entities/").status_code == 401
    assert current_context() == AT_REST
