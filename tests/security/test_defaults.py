"""Secure defaults: login lockout, admin TOTP, throttling, body limits, CSP, strict validation."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import override_settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from ledger.models import JournalEntry
from sheshi.security import validation as v
from tests.factories import PASSWORD, EntityFactory, UserFactory, user_with_role

pytestmark = pytest.mark.django_db


def _staff(**kw):
    user = UserFactory(is_staff=True, **kw)
    return user


def _admin_login(client, username, password, **extra):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password,
                                                      "next": "/admin/", **extra})


# --- login lockout (django-axes) -------------------------------------------------------------

def test_five_failed_logins_lock_the_username_from_that_address_even_with_the_right_password(client):
    user = _staff()
    for _ in range(4):
        assert _admin_login(client, user.username, "wrong-password-123").status_code == 200  # form error
    locked = _admin_login(client, user.username, "wrong-password-123")
    assert locked.status_code == 429
    assert _admin_login(client, user.username, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address_so_colleagues_are_not_locked_out(client):
    victim, colleague = _staff(), _staff()
    for _ in range(5):
        _admin_login(client, victim.username, "wrong-password-123")
    assert _admin_login(client, colleague.username, PASSWORD).status_code == 302
    other_address = client.__class__(REMOTE_ADDR="10.9.8.7")
    assert _admin_login(other_address, victim.username, PASSWORD).status_code == 302


def test_a_successful_login_resets_the_failure_count(client):
    user = _staff()
    for _ in range(4):
        _admin_login(client, user.username, "wrong-password-123")
    assert _admin_login(client, user.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _admin_login(client, user.username, "wrong-password-123")
    assert _admin_login(client, user.username, PASSWORD).status_code == 302


# --- admin second factor (django-otp) --------------------------------------------------------

def _device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def _code(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits).token():0{device.digits}d}"


def test_a_user_without_a_device_signs_in_with_the_password_alone(client):
    user = _staff()
    assert _admin_login(client, user.username, PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_user_with_a_device_needs_a_current_code(client):
    user = _staff()
    device = _device(user)
    refused = _admin_login(client, user.username, PASSWORD)
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    ok = _admin_login(client, user.username, PASSWORD, otp_device=device.persistent_id, otp_token=_code(device))
    assert ok.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused(client):
    user = _staff()
    device = _device(user)
    wrong = "000000" if _code(device) != "000000" else "111111"
    resp = _admin_login(client, user.username, PASSWORD, otp_device=device.persistent_id, otp_token=wrong)
    assert resp.status_code == 200 and "_auth_user_id" not in client.session


def test_a_session_not_verified_by_the_device_is_kept_out_of_the_admin(client):
    user = _staff()
    _device(user)
    client.force_login(user)  # e.g. a session from the API login, without the second factor
    resp = client.get("/admin/")
    assert resp.status_code == 302 and resp["Location"].startswith("/admin/login/")


@override_settings(SHESHI_ADMIN_REQUIRE_OTP=False)
def test_the_second_factor_can_be_switched_off(client):
    user = _staff()
    _device(user)
    assert _admin_login(client, user.username, PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200


# --- throttling --------------------------------------------------------------------------------

def test_api_throttling_answers_429_problem_with_retry_after(client, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/min")
    cache.clear()
    entity = EntityFactory()
    client.force_login(user_with_role(entity, "viewer"))
    codes = [client.get("/api/v1/entities/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    resp = client.get("/api/v1/entities/")
    assert resp["Content-Type"] == "application/problem+json"
    assert resp.json()["code"] == "throttled" and int(resp["Retry-After"]) > 0
    cache.clear()


def test_throttling_keys_on_the_peer_address_not_a_client_supplied_header(rf):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4", REMOTE_ADDR="10.0.0.5")
    from rest_framework.request import Request

    assert AnonRateThrottle().get_ident(Request(request)) == "10.0.0.5"


# --- request size limits -----------------------------------------------------------------------

def _entry_body(entity, pad: int = 0) -> dict:
    return {"entity": entity.code, "entry_date": "2026-03-15", "description": "x" * pad,
            "lines": [{"account": "1200", "amount": "1.0000"}, {"account": "4100", "amount": "-1.0000"}]}


@override_settings(SHESHI_MAX_BODY_BYTES=200)
def test_an_oversized_json_body_is_refused_with_413_before_it_is_read(client):
    entity = EntityFactory()
    client.force_login(user_with_role(entity, "preparer"))
    resp = client.post("/api/v1/journal-entries/", _entry_body(entity, pad=300), content_type="application/json")
    assert resp.status_code == 413
    assert resp["Content-Type"] == "application/problem+json" and resp.json()["code"] == "payload_too_large"
    assert JournalEntry.objects.count() == 0


@override_settings(SHESHI_MAX_BODY_BYTES=200, SHESHI_MAX_UPLOAD_BYTES=10_000)
def test_multipart_uploads_have_their_own_larger_limit(client):
    entity = EntityFactory()
    client.force_login(user_with_role(entity, "preparer"))
    small_upload = client.post("/api/v1/entities/", {"file": ("x" * 1000)})  # multipart by default
    assert small_upload.status_code == 405  # reached the view: not refused for size
    big = client.post("/api/v1/entities/", {"file": "x" * 20_000})
    assert big.status_code == 413


def test_a_malformed_content_length_is_400(client):
    resp = client.generic("POST", "/api/v1/journal-entries/", b"{}", content_type="application/json",
                          CONTENT_LENGTH="-5")
    assert resp.status_code == 400 and resp.json()["code"] == "bad_request"


def test_the_default_limits_come_from_settings():
    from django.conf import settings

    assert settings.SHESHI_MAX_BODY_BYTES == settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 5 * 1024 * 1024
    assert settings.SHESHI_MAX_UPLOAD_BYTES == settings.SHESHI_IMPORT_MAX_BYTES


# --- Content-Security-Policy -----------------------------------------------------------------

def _with_csp():
    from django.conf import settings

    from sheshi.security.csp import POLICY

    return override_settings(MIDDLEWARE=[settings.MIDDLEWARE[0], "sheshi.security.csp.SheshiCSPMiddleware",
                                         *settings.MIDDLEWARE[1:]], CONTENT_SECURITY_POLICY=POLICY)


def test_csp_is_same_origin_and_the_api_docs_still_work(client):
    import re

    client.force_login(UserFactory())
    with _with_csp():
        api = client.get("/api/v1/entities/")
        docs = client.get("/api/v1/docs/")
        script = client.get("/api/v1/docs/?script=")
    policy = api["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert docs.status_code == 200
    docs_policy = docs["Content-Security-Policy"]
    assert "script-src 'self';" in docs_policy + ";" and "unsafe-inline" not in docs_policy.split("script-src")[1] \
        .split(";")[0]
    html = docs.content.decode()
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attrs for attrs in scripts), "inline <script> would be blocked by the CSP"
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), f"{url} is not same-origin"
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_production_settings_enable_the_csp_middleware():
    import subprocess
    import sys

    code = ("from django.conf import settings; import django; django.setup(); "
            "print('sheshi.security.csp.SheshiCSPMiddleware' in settings.MIDDLEWARE, "
            "settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'])")
    env = {"DJANGO_SETTINGS_MODULE": "sheshi.settings.prod", "SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "x",
           "SHESHI_FIELD_KEYS": "dGVzdC1vbmx5LWZpZWxkLWtleS1ub3Qtc2VjcmV0LTA="}
    import os

    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "True [\"'self'\"]", out.stdout + out.stderr


# --- strict validation helpers ------------------------------------------------------------------

def test_decimals_refuse_floats_extra_places_and_non_finite_values():
    assert v.parse_decimal("1234567890123456.7891") == Decimal("1234567890123456.7891")
    for bad, code in [(1.5, "float"), ("1.23456", "max_decimal_places"), ("NaN", "invalid"), ("1e3x", "invalid"),
                      ("12345678901234567", "max_whole_digits"), (True, "float")]:
        with pytest.raises(ValidationError) as exc:
            v.parse_decimal(bad)
        assert exc.value.code == code, bad


def test_currencies_dates_codes_and_bank_identifiers_are_strict():
    assert v.validate_currency("EUR") == "EUR"
    for bad in ("eur", "EURO", "XXX", ""):
        with pytest.raises(ValidationError):
            v.validate_currency(bad)
    assert v.parse_iso_date("2026-02-28") == date(2026, 2, 28)
    for bad in ("2026-02-30", "28/02/2026", "2026-2-28", 20260228):
        with pytest.raises(ValidationError):
            v.parse_iso_date(bad)
    assert v.validate_code("MXA-1") == "MXA-1"
    with pytest.raises(ValidationError):
        v.validate_code("mx a")
    assert v.normalise_iban("gb82 west 1234 5698 7654 32") == "GB82WEST12345698765432"
    with pytest.raises(ValidationError):
        v.normalise_iban("GB82WEST12345698765433")
    assert v.validate_bic("COBADEFFXXX") == "COBADEFFXXX"
    with pytest.raises(ValidationError):
        v.validate_bic("COBA")


def test_drf_fields_give_field_errors():
    from rest_framework import serializers

    class Input(serializers.Serializer):
        amount = v.StrictDecimalField()
        currency = v.CurrencyField()
        on = v.IsoDateField()

    bad = Input(data={"amount": 1.1, "currency": "ABC", "on": "2026-13-01"})
    assert not bad.is_valid()
    assert {k: [e.code for e in errs] for k, errs in bad.errors.items()} == {
        "amount": ["float"], "currency": ["invalid_currency"], "on": ["invalid_date"]}
    good = Input(data={"amount": "10.5000", "currency": "USD", "on": "2026-01-31"})
    assert good.is_valid(), good.errors
    assert good.validated_data == {"amount": Decimal("10.5000"), "currency": "USD", "on": date(2026, 1, 31)}
