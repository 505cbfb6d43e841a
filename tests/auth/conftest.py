"""Sign-in fixtures: the GitHub Enterprise stand-in wired to Flex, a browser, a sign-in walk."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests
from django.http import HttpResponse
from django.test import Client

from standins.github import GitHubStandIn, demo_users

GHE = "social_core.backends.github_enterprise.GithubEnterpriseOAuth2"
USER_AGENT = "Mozilla/5.0 (flex-tests) Browser/1.0"


def wire_stand_in(settings, http_stub: Callable) -> GitHubStandIn:
    """Serve the stand-in (alice org admin, bob in team platform, carol with a private
    email, mallory outsider) as Flex's only sign-in provider: org ``acme``, team roles on,
    local sign-in off."""
    stand_in = GitHubStandIn(demo_users(), org="acme")
    stand_in.server = http_stub(stand_in.handle)
    settings.AUTHENTICATION_BACKENDS = ["flex.auth.LocalBackend", GHE]
    settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_URL = stand_in.url
    settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_API_URL = stand_in.api_url
    settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY = stand_in.client_id
    settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_SECRET = stand_in.client_secret
    settings.GITHUB_ORG = "acme"
    settings.GITHUB_ROLE_FIELD = "teams"
    settings.FLEX_LOCAL_LOGIN = False
    return stand_in


@pytest.fixture
def github(settings, http_stub, db) -> GitHubStandIn:
    return wire_stand_in(settings, http_stub)


@pytest.fixture
def browser() -> Client:
    return Client(headers={"user-agent": USER_AGENT})


def callback_path(location: str) -> str:
    """The local part of the stand-in's redirect back to Flex (the test client's host)."""
    parts = urlsplit(location)
    assert parts.netloc == "testserver", location
    return f"{parts.path}?{parts.query}"


def start_sign_in(browser: Client, github: GitHubStandIn, next: str | None = None, **params) -> str:
    """POST the sign-in button, follow the redirect to the stand-in's authorize page with
    ``params`` (``login=…`` or ``deny=1``) and return Flex's callback path it sends back."""
    begin = browser.post("/login/github-enterprise/", {"next": next} if next else {})
    assert begin.status_code == 302, begin
    assert begin["Location"].startswith(github.url + "login/oauth/authorize?")
    authorize = requests.get(begin["Location"], params=params, allow_redirects=False, timeout=5)
    assert authorize.status_code == 302, authorize.text
    return callback_path(authorize.headers["Location"])


@pytest.fixture
def sign_in(browser: Client, github: GitHubStandIn) -> Callable[..., HttpResponse]:
    """The whole OAuth dance as a browser does it; returns Flex's answer to the callback."""

    def walk(login: str, *, next: str | None = None, tamper_state: bool = False) -> HttpResponse:
        path = start_sign_in(browser, github, next, login=login)
        if tamper_state:
            path = path.replace("state=", "state=forged")
        return browser.get(path)

    return walk
