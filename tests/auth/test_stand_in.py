"""The GitHub Enterprise stand-in answers as GitHub does where social-auth does not look."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from standins.github import GitHubStandIn, demo_users

CALLBACK = "http://testserver/complete/github-enterprise/"


@pytest.fixture
def stand_in(http_stub) -> GitHubStandIn:
    github = GitHubStandIn(demo_users())
    github.server = http_stub(github.handle)
    return github


def _authorize(github: GitHubStandIn, **params) -> requests.Response:
    query = {"client_id": github.client_id, "redirect_uri": CALLBACK, "state": "s1", **params}
    return requests.get(
        github.url + "login/oauth/authorize", params=query, allow_redirects=False, timeout=5
    )


def _code(github: GitHubStandIn, login: str, scope: str = "read:org,user:email") -> str:
    location = _authorize(github, login=login, scope=scope).headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def _exchange(github: GitHubStandIn, code: str, **headers) -> requests.Response:
    form = {"client_id": github.client_id, "client_secret": github.client_secret, "code": code}
    return requests.post(
        github.url + "login/oauth/access_token", data=form, headers=headers, timeout=5
    )


def test_the_authorize_page_lists_the_people_to_sign_in_as(stand_in):
    page = _authorize(stand_in)
    assert page.status_code == 200
    for login in ("alice", "bob", "carol", "mallory"):
        assert f">{login}</a>" in page.text


def test_the_token_endpoint_answers_form_encoded_unless_json_is_accepted(stand_in):
    plain = _exchange(stand_in, _code(stand_in, "bob"))
    assert plain.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(plain.text)["token_type"] == ["bearer"]
    as_json = _exchange(stand_in, _code(stand_in, "bob"), Accept="application/json")
    assert as_json.json()["access_token"].startswith("gho_")


def test_a_code_works_once(stand_in):
    code = _code(stand_in, "bob")
    _exchange(stand_in, code, Accept="application/json")
    again = _exchange(stand_in, code, Accept="application/json")
    assert again.status_code == 200 and again.json()["error"] == "bad_verification_code"


def test_the_api_wants_a_token_and_the_scopes(stand_in):
    assert requests.get(stand_in.api_url + "user", timeout=5).status_code == 401
    code = _code(stand_in, "bob", scope="")
    token = _exchange(stand_in, code, Accept="application/json").json()["access_token"]
    headers = {"Authorization": f"token {token}"}
    assert requests.get(stand_in.api_url + "user", headers=headers, timeout=5).json()["id"] == 1002
    teams = requests.get(stand_in.api_url + "user/teams", headers=headers, timeout=5)
    assert teams.status_code == 403
