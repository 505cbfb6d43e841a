"""Open redirects through ``next=``: after signing in (local form or GitHub) and signing out,
Flex sends the browser only to its own pages, whatever ``next`` says.

Also here: a GitHub account whose display name is a script payload signs in; the name is
stored and shown as text.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditRecord
from standins.github import GitHubUser
from tests.hostile.support import XSS_IMG, XSS_SCRIPT, assert_escaped, body_text

EVIL_NEXT = {
    "absolute": "https://evil.example/",
    "scheme-relative": "//evil.example",
    "backslash": "/\\evil.example",
    "double-backslash": "\\\\evil.example",
    "javascript": "javascript:alert(1)",
    "javascript-mixed-case": "JaVaScRiPt:alert(1)",
    "data-url": "data:text/html,<script>alert(1)</script>",
    "userinfo": "https://testserver@evil.example/",
    "triple-slash": "///evil.example",
    "tab-in-scheme": "ht\ttps://evil.example",
    "leading-space": " //evil.example",
    "encoded-slashes": "/%2F%2Fevil.example",
    "http-backslash": "http:\\\\evil.example",
}


def assert_stays_home(response) -> None:
    """A redirect to a path on this site, nowhere else."""
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "testserver"), location
    path = parts.path
    assert path.startswith("/") and not path.startswith(("//", "/\\")), location
    assert "evil.example" not in location.replace("%2F%2Fevil.example", ""), location
    assert "javascript:" not in location.lower() and not location.startswith("data:")


@pytest.fixture
def local_sign_in(settings, personas) -> None:
    settings.FLEX_LOCAL_LOGIN = True


@pytest.mark.parametrize("next_url", EVIL_NEXT.values(), ids=EVIL_NEXT.keys())
def test_local_sign_in_ignores_a_next_that_leaves_the_site(local_sign_in, next_url):
    client = Client()
    response = client.post(
        reverse("login"), {"username": "bob", "password": "pw-bob", "next": next_url}
    )
    assert_stays_home(response)
    assert client.session.get("_auth_user_id") is not None  # the sign-in itself worked
    assert AuditRecord.objects.filter(event="auth/login").count() == 1


@pytest.mark.parametrize("next_url", EVIL_NEXT.values(), ids=EVIL_NEXT.keys())
def test_sign_out_ignores_a_next_that_leaves_the_site(personas, next_url):
    client = Client()
    client.force_login(personas["bob"])
    response = client.post(reverse("logout") + "?next=" + next_url, {"next": next_url})
    assert_stays_home(response)
    assert "_auth_user_id" not in client.session
    assert AuditRecord.objects.filter(event="auth/logout").count() == 1


@pytest.mark.parametrize("next_url", EVIL_NEXT.values(), ids=EVIL_NEXT.keys())
def test_github_sign_in_ignores_a_next_that_leaves_the_site(sign_in, personas, next_url):
    response = sign_in("bob", next=next_url)
    assert_stays_home(response)
    assert AuditRecord.objects.filter(event="auth/login").count() == 1


def test_a_safe_next_is_still_followed(local_sign_in):
    """The control: the refusals above are about where ``next`` points."""
    response = Client().post(
        reverse("login"), {"username": "bob", "password": "pw-bob", "next": "/settings/user-log/"}
    )
    assert response["Location"] == "/settings/user-log/"


def test_a_github_name_that_is_a_script_is_stored_and_shown_as_text(sign_in, github, browser):
    github.users["evil-gh"] = GitHubUser(
        "evil-gh", 2001, XSS_SCRIPT, XSS_IMG + "@evil.example", org_role="member"
    )
    response = sign_in("evil-gh")
    assert_stays_home(response)
    record = AuditRecord.objects.get(event="auth/login")
    assert record.document["data"]["user"]["name"] == XSS_SCRIPT
    page = browser.get(reverse("user-log"))
    assert page.status_code == 200
    assert_escaped(body_text(page), XSS_SCRIPT)  # the page header shows the name
    detail = browser.get(reverse("user-record", kwargs={"record_id": record.id}))
    assert_escaped(body_text(detail), XSS_SCRIPT, XSS_IMG + "@evil.example")
