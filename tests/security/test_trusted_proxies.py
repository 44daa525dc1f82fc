"""Behind nginx every request comes from 127.0.0.1 (issue 15.8): the client address is taken from
X-Forwarded-For only when the direct peer is a trusted proxy, as the rightmost hop that is not a
trusted proxy. Lockout (django-axes), throttling and audit events all key on that address."""
from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.core.checks import run_checks
from django.test import Client, RequestFactory, override_settings

from audit.models import AuditEvent
from sheshi.api.throttling import AnonRateThrottle, UserRateThrottle
from sheshi.request_context import client_addr
from tests.factories import PASSWORD, EntityFactory, UserFactory, member

pytestmark = pytest.mark.django_db
PROXY = ["127.0.0.1", "::1", "10.0.0.0/8"]


def request(peer: str, xff: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": xff} if xff is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=peer, **extra)


@pytest.mark.parametrize(("proxies", "peer", "xff", "expected"), [
    ([], "127.0.0.1", "203.0.113.9", "127.0.0.1"),  # nothing trusted: the header is ignored
    (PROXY, "198.51.100.4", "203.0.113.9", "198.51.100.4"),  # an untrusted peer's header is ignored
    (PROXY, "127.0.0.1", "203.0.113.9", "203.0.113.9"),
    (PROXY, "127.0.0.1", "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # a client-prepended hop is not believed
    (PROXY, "127.0.0.1", "203.0.113.9, 10.1.2.3", "203.0.113.9"),  # load balancer, then nginx
    (PROXY, "::1", "2001:db8::7", "2001:db8::7"),
    (PROXY, "127.0.0.1", "10.1.2.3, 10.4.5.6", "10.1.2.3"),  # every hop trusted: the leftmost
    (PROXY, "127.0.0.1", "", "127.0.0.1"),
    (PROXY, "127.0.0.1", None, "127.0.0.1"),
    (PROXY, "127.0.0.1", "203.0.113.9, junk", "127.0.0.1"),  # a malformed hop ends the walk at the proxy
])
def test_the_client_address_is_the_rightmost_untrusted_hop_behind_a_trusted_proxy(proxies, peer, xff, expected):
    with override_settings(SHESHI_TRUSTED_PROXIES=proxies):
        assert client_addr(request(peer, xff)) == expected


def test_throttles_key_on_the_client_behind_the_proxy_not_on_the_proxy():
    with override_settings(SHESHI_TRUSTED_PROXIES=PROXY):
        for throttle in (AnonRateThrottle(), UserRateThrottle()):
            assert throttle.get_ident(request("127.0.0.1", "203.0.113.9")) == "203.0.113.9"
            assert throttle.get_ident(request("198.51.100.4", "203.0.113.9")) == "198.51.100.4"
    with override_settings(SHESHI_TRUSTED_PROXIES=[]):
        assert AnonRateThrottle().get_ident(request("127.0.0.1", "203.0.113.9")) == "127.0.0.1"


def _login(client, username, password, xff):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"},
                       HTTP_X_FORWARDED_FOR=xff)


@override_settings(SHESHI_TRUSTED_PROXIES=PROXY)
def test_behind_a_trusted_proxy_an_attacker_cannot_lock_a_colleague_out():
    cache.clear()
    victim = UserFactory(is_staff=True)
    attacker = Client(REMOTE_ADDR="127.0.0.1")
    for _ in range(5):
        _login(attacker, victim.username, "wrong-password-123", "203.0.113.66")
    assert _login(attacker, victim.username, PASSWORD, "203.0.113.66").status_code == 429
    assert _login(Client(REMOTE_ADDR="127.0.0.1"), victim.username, PASSWORD, "198.51.100.10").status_code == 302


@override_settings(SHESHI_TRUSTED_PROXIES=[])
def test_from_an_untrusted_peer_a_forged_header_does_not_escape_the_lockout():
    cache.clear()
    victim = UserFactory(is_staff=True)
    attacker = Client(REMOTE_ADDR="198.51.100.4")
    for i in range(5):
        _login(attacker, victim.username, "wrong-password-123", f"203.0.113.{i}")
    assert _login(attacker, victim.username, PASSWORD, "192.0.2.200").status_code == 429


@override_settings(SHESHI_TRUSTED_PROXIES=PROXY)
def test_audit_events_record_the_client_behind_the_proxy():
    entity = EntityFactory()
    member(UserFactory(username="victim"), entity.organisation)
    req = RequestFactory().post("/admin/login/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    req.request_id = "req-proxy-1"
    assert authenticate(req, username="victim", password="wrong-password-123") is None
    assert AuditEvent.objects.get(action="login.failed").client_addr == "203.0.113.9"


def test_a_malformed_trusted_proxy_setting_is_a_check_error_and_an_empty_one_a_deploy_warning():
    with override_settings(SHESHI_TRUSTED_PROXIES=["127.0.0.1", "nginx.local"]):
        assert "sheshi.E005" in [m.id for m in run_checks()]
    with override_settings(SHESHI_TRUSTED_PROXIES=[]):
        assert "sheshi.W004" in [m.id for m in run_checks(include_deployment_checks=True)]
