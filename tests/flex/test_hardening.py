"""Hardening: security headers, sign-in throttling, 5xx tracebacks, NUL in admin filters."""

from __future__ import annotations

import io
import logging

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import include, path

from audit.models import AuditRecord
from flex import throttle
from flex.security import CONTENT_SECURITY_POLICY

User = get_user_model()


def test_every_page_has_a_strict_csp_and_permissions_policy(db):
    response = Client().get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.parametrize(
    "url",
    ["/settings/audit-log/", "/settings/audit-log/export.csv", "/api/audit/", "/settings/tokens/"],
)
def test_audit_pages_exports_and_the_api_are_never_stored(personas, url):
    client = Client()
    client.force_login(personas["alice"])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_hsts_is_sent_when_configured(db, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = Client().get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    settings.SECURE_HSTS_SECONDS = 0
    assert "Strict-Transport-Security" not in Client().get("/accounts/login/", secure=True)


def test_flex_pages_carry_no_inline_script_or_style(personas):
    client = Client()
    client.force_login(personas["alice"])
    for url in ("/settings/audit-log/", "/settings/tokens/", "/accounts/login/"):
        page = client.get(url).content.decode()
        assert "<style" not in page and "style=" not in page, url
        assert "<script>" not in page and " on" + "click=" not in page, url


@pytest.fixture
def dana(db, settings):
    settings.FLEX_LOCAL_LOGIN = True
    return User.objects.create_user("dana", "dana@example.com", "a-long-pass-phrase")


def _sign_in(client: Client, password: str, username: str = "dana"):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_ten_wrong_passwords_refuse_the_right_one_with_a_record(dana):
    client = Client(REMOTE_ADDR="192.0.2.10")
    for _ in range(throttle.SIGN_IN_FAILURES):
        assert _sign_in(client, "wrong").status_code == 200
    response = _sign_in(client, "a-long-pass-phrase")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    refused = AuditRecord.objects.filter(event="auth/login-refused").order_by("ts")
    assert refused.count() == throttle.SIGN_IN_FAILURES + 1
    last = refused.last()
    assert (last.outcome, last.login) == ("denied", "dana")
    assert "Too many failed sign-ins" in last.document["data"]["response"]["error"]


def test_the_account_is_throttled_from_every_address(dana):
    for n in range(throttle.SIGN_IN_FAILURES):
        _sign_in(Client(REMOTE_ADDR=f"192.0.2.{n + 20}"), "wrong")
    assert _sign_in(Client(REMOTE_ADDR="198.51.100.1"), "a-long-pass-phrase").status_code == 429


def test_an_address_is_throttled_for_every_account(dana):
    client = Client(REMOTE_ADDR="192.0.2.99")
    for n in range(throttle.SIGN_IN_FAILURES):
        _sign_in(client, "wrong", username=f"someone-{n}")
    assert _sign_in(client, "a-long-pass-phrase").status_code == 429
    assert _sign_in(Client(REMOTE_ADDR="192.0.2.100"), "a-long-pass-phrase").status_code == 302


def test_nine_failures_do_not_lock_anyone_out(dana):
    client = Client(REMOTE_ADDR="192.0.2.11")
    for _ in range(throttle.SIGN_IN_FAILURES - 1):
        _sign_in(client, "wrong")
    assert _sign_in(client, "a-long-pass-phrase").status_code == 302


def _boom(request) -> HttpResponse:
    raise RuntimeError("kaboom-for-the-log")


urlpatterns = [path("boom/", _boom), path("", include("flex.urls"))]
handler500 = "flex.errors.server_error"


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_a_500_leaves_its_traceback_on_stderr(db):
    # The console handler writes to the stderr it found at start; here it is lent a buffer.
    handlers = logging.getLogger("django.request").handlers
    (handler,) = [h for h in handlers if type(h) is logging.StreamHandler]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        response = Client(raise_request_exception=False).get("/boom/")
    finally:
        handler.setStream(previous)
    assert response.status_code == 500
    err = buffer.getvalue()
    assert "Internal Server Error: /boom/" in err
    assert "Traceback (most recent call last)" in err and "kaboom-for-the-log" in err


@pytest.mark.parametrize(
    "query", ["q=%00", "username=a%00b", "is_staff__exact=%00", "%00=1", "o=1%00"]
)
def test_a_nul_byte_in_an_admin_changelist_query_is_a_400(personas, query):
    alice = personas["alice"]
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client = Client()
    client.force_login(alice)
    response = client.get(f"/admin/auth/user/?{query}")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert client.get("/admin/auth/user/?q=ali").status_code == 200
