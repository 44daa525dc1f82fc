"""Webhook URLs: public https endpoints only, checked when saved and again at delivery, and a
delivery never follows a redirect (a way to reach the deployment's internal network otherwise)."""
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError

from audit.models import WebhookSubscription
from audit.services.webhooks import http_post, webhook_subscription_create
from audit.webhook_urls import webhook_url_check
from sheshi.errors import ValidationFailed
from tests.factories import OrganisationFactory

PUBLIC = "93.184.215.14"  # a public unicast address; nothing is ever sent to it here


@pytest.fixture
def production_rules(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    settings.WEBHOOK_ALLOW_HTTP = False


@pytest.fixture
def resolves_to(monkeypatch):
    """Make every host name resolve to the given addresses (no DNS in the sandbox)."""
    def install(*addresses):
        def fake(host, port, *args, **kwargs):
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]
        monkeypatch.setattr(socket, "getaddrinfo", fake)
    return install


@pytest.mark.parametrize(("url", "reason"), [
    ("http://hooks.example.com/x", "scheme must be https"),
    ("ftp://hooks.example.com/x", "scheme must be https"),
    ("https://user:pw@hooks.example.com/x", "credentials"),
    ("https://127.0.0.1/x", "non-public address (127.0.0.1)"),
    ("https://[::1]/x", "non-public address (::1)"),
    ("https://10.1.2.3/x", "non-public address (10.1.2.3)"),
    ("https://169.254.169.254/latest/meta-data/", "non-public address (169.254.169.254)"),
    ("https://[::ffff:192.168.0.1]/x", "non-public address"),
    ("https://0.0.0.0/x", "non-public address"),
])
def test_refused_urls_say_why(production_rules, url, reason):
    with pytest.raises(ValidationFailed) as exc:
        webhook_url_check(url)
    assert reason in exc.value.errors[0].message and exc.value.errors[0].field == "url"


def test_a_name_that_resolves_to_any_private_address_is_refused(production_rules, resolves_to):
    resolves_to(PUBLIC, "10.0.0.7")
    with pytest.raises(ValidationFailed, match=r"10\.0\.0\.7"):
        webhook_url_check("https://hooks.example.com/x")
    resolves_to(PUBLIC)
    webhook_url_check("https://hooks.example.com/x")  # every address public: accepted


def test_public_https_literal_is_accepted(production_rules):
    webhook_url_check(f"https://{PUBLIC}:8443/hook")


@pytest.mark.django_db
def test_the_service_and_the_admin_form_apply_the_rule(production_rules):
    org = OrganisationFactory(code="SSRF")
    with pytest.raises(ValidationFailed):
        webhook_subscription_create(organisation_id=org.pk, name="meta", secret="s" * 20,
                                    url="https://169.254.169.254/latest/meta-data/")
    assert not WebhookSubscription.objects.filter(organisation=org).exists()
    sub = WebhookSubscription(organisation=org, name="edit", url="https://10.0.0.1/x", secret="s" * 20)
    with pytest.raises(ValidationError) as exc:
        sub.full_clean()
    assert "url" in exc.value.message_dict


def test_delivery_rechecks_the_host(production_rules, resolves_to):
    """Saved while public, the name now points inside: nothing is sent."""
    resolves_to("127.0.0.1")
    result = http_post("https://hooks.example.com/x", b"{}", {})
    assert result.status == 0 and "non-public address (127.0.0.1)" in result.error


def test_delivery_does_not_follow_redirects():
    """Test settings allow loopback receivers; the redirect to another path is still not followed."""
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(307)
            self.send_header("Location", "/internal-admin")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = http_post(f"http://127.0.0.1:{server.server_address[1]}/hook", b"{}", {"Content-Type": "x"})
    finally:
        server.shutdown()
        server.server_close()
    assert (result.ok, result.status, hits) == (False, 307, ["/hook"])
