"""Local username/password sign-in: on only when FLEX_LOCAL_LOGIN says so, audited either way."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import AuditRecord
from tests.auth.conftest import USER_AGENT

User = get_user_model()


@pytest.fixture
def local_user(db):
    return User.objects.create_user("dana", "dana@example.com", "a-long-pass-phrase")


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_local_sign_in_works_and_leaves_one_record_when_on(settings, local_user, browser):
    settings.FLEX_LOCAL_LOGIN = True
    page = browser.get("/accounts/login/").content.decode()
    assert 'name="password"' in page

    response = browser.post(
        "/accounts/login/", {"username": "dana", "password": "a-long-pass-phrase"}
    )

    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in(browser)
    record = AuditRecord.objects.get()
    assert (record.type, record.event, record.outcome, record.login) == (
        "auth/login",
        "auth/login",
        "succeeded",
        "dana",
    )
    assert record.document["data"]["user"]["provider"] == "local"
    assert record.document["ctx"]["user-agent"] == USER_AGENT

    browser.post("/accounts/logout/")
    assert not signed_in(browser)
    assert AuditRecord.objects.filter(type="auth/logout", login="dana").count() == 1
    assert AuditRecord.objects.count() == 2


def test_a_wrong_password_is_refused_with_one_record(settings, local_user, browser):
    settings.FLEX_LOCAL_LOGIN = True
    response = browser.post("/accounts/login/", {"username": "dana", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert not signed_in(browser)
    record = AuditRecord.objects.get()
    assert (record.type, record.outcome, record.login) == ("auth/login-refused", "denied", "dana")


def test_the_local_form_is_hidden_and_refused_when_off(settings, local_user, browser):
    settings.FLEX_LOCAL_LOGIN = False
    page = browser.get("/accounts/login/").content.decode()
    assert 'name="password"' not in page

    response = browser.post(
        "/accounts/login/", {"username": "dana", "password": "a-long-pass-phrase"}
    )

    assert response.status_code == 403
    assert "turned off" in response.content.decode()
    assert not signed_in(browser)
    record = AuditRecord.objects.get()
    assert (record.type, record.outcome, record.login) == ("auth/login-refused", "denied", "dana")
    assert record.document["data"]["response"]["error"] == "local sign-in is off"


def test_no_password_door_opens_when_local_sign_in_is_off(settings, local_user):
    settings.FLEX_LOCAL_LOGIN = False
    client = Client()
    assert not client.login(username="dana", password="a-long-pass-phrase")


def test_admin_login_is_our_sign_in_page(settings, local_user, browser):
    settings.FLEX_LOCAL_LOGIN = False
    response = browser.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"
    posted = browser.post(
        "/admin/login/", {"username": "dana", "password": "a-long-pass-phrase", "next": "/admin/"}
    )
    assert posted.status_code == 302 and posted["Location"].startswith("/accounts/login/")
    assert not signed_in(browser)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/healthz"])
def test_local_sign_in_goes_only_to_local_paths(settings, local_user, browser, target):
    settings.FLEX_LOCAL_LOGIN = True
    response = browser.post(
        "/accounts/login/",
        {"username": "dana", "password": "a-long-pass-phrase", "next": target},
    )
    assert response["Location"] == (target if target.startswith("/h") else "/")


def test_the_sign_in_page_says_so_when_nothing_is_configured(settings, db, browser):
    settings.FLEX_LOCAL_LOGIN = False
    settings.AUTHENTICATION_BACKENDS = ["flex.auth.LocalBackend"]
    page = browser.get("/accounts/login/").content.decode()
    assert "No way to sign in is configured" in page


def test_forcing_a_login_in_tests_writes_no_audit_record(local_user):
    client = Client()
    client.force_login(local_user)
    client.logout()
    assert not AuditRecord.objects.exists()
