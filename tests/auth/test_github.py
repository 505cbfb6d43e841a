"""Sign-in with GitHub Enterprise through social-auth's real backend and the loopback stand-in."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from social_django.models import UserSocialAuth

from audit.models import AuditRecord
from rbac.engine import decide, invalidate
from rbac.models import Policy, Profile
from rbac.roles import actor_for_user, roles_for_user
from tests.auth.conftest import USER_AGENT, start_sign_in

User = get_user_model()
ERROR_PAGE = "/accounts/login/error/"


def signed_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_first_sign_in_creates_the_user_and_profile(sign_in, browser, github):
    response = sign_in("alice")
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = signed_in_user(browser)
    assert user is not None and user.username == "alice"
    profile = Profile.objects.get(user=user)
    assert profile.provider == "github-enterprise"
    assert (profile.login, profile.name, profile.email) == (
        "alice",
        "Alice Admin",
        "alice@acme.example",
    )
    assert profile.github_id == "1001"
    assert profile.flex_id is not None
    assert profile.provider_roles == ["admin", "admins"]
    assert UserSocialAuth.objects.get(user=user).uid == "1001"


def test_the_next_sign_in_refreshes_name_email_and_roles(sign_in, browser, github):
    sign_in("bob")
    first = Profile.objects.get(login="bob")
    browser.post("/accounts/logout/")
    bob = github.users["bob"]
    bob.name, bob.email = "Robert Builder", "robert@acme.example"
    bob.org_role, bob.teams = "admin", ["platform", "kafka-owners"]

    sign_in("bob")

    again = Profile.objects.get(login="bob")
    assert User.objects.filter(username__startswith="bob").count() == 1
    assert again.flex_id == first.flex_id and again.user_id == first.user_id
    assert (again.name, again.email) == ("Robert Builder", "robert@acme.example")
    assert again.user.email == "robert@acme.example"
    assert again.provider_roles == ["admin", "platform", "kafka-owners"]


def test_it_refuses_an_outsider_with_a_record_and_no_user(sign_in, browser, github):
    response = sign_in("mallory")

    assert response.status_code == 302 and response["Location"] == ERROR_PAGE
    page = browser.get(ERROR_PAGE)
    assert page.status_code == 200
    assert "mallory is not a member of the acme organization" in page.content.decode()
    assert signed_in_user(browser) is None
    assert not User.objects.exists() and not UserSocialAuth.objects.exists()
    record = AuditRecord.objects.get()
    assert (record.type, record.event, record.outcome) == (
        "auth/login-refused",
        "auth/login-refused",
        "denied",
    )
    assert record.login == "mallory"
    assert record.document["data"]["user"]["login"] == "mallory"
    assert "not a member" in record.document["data"]["response"]["error"]
    assert record.document["ctx"]["client-ip"] == "127.0.0.1"
    assert record.document["ctx"]["user-agent"] == USER_AGENT


def test_an_invited_but_not_yet_joined_member_is_refused(sign_in, github):
    github.users["bob"].org_state = "pending"
    assert sign_in("bob")["Location"] == ERROR_PAGE
    assert not User.objects.exists()


def test_it_maps_teams_in_the_org_to_roles_and_rbac_decides_on_them(sign_in, browser, github):
    Policy.objects.create(
        resource=["cluster", "*", "topic", "tx-*"],
        effect="Allow",
        actions=["TOPIC_CREATE"],
        roles=["platform"],
    )
    invalidate()
    sign_in("bob")
    bob = signed_in_user(browser)

    # bob's team "ops" belongs to another org: it is no role here.
    assert roles_for_user(bob) == ["member", "platform"]
    Group.objects.create(name="on-call").user_set.add(bob)
    assert roles_for_user(bob) == ["member", "platform", "on-call"]
    actor = actor_for_user(bob)
    assert decide(actor.roles, "TOPIC_CREATE", ["cluster", "c1", "topic", "tx-a"]).success
    assert not decide(actor.roles, "TOPIC_DELETE", ["cluster", "c1", "topic", "tx-a"]).success


def test_with_the_org_role_field_only_the_org_role_is_a_role(sign_in, github, settings):
    settings.GITHUB_ROLE_FIELD = "org"
    sign_in("bob")
    assert Profile.objects.get(login="bob").provider_roles == ["member"]
    assert "/api/v3/user/teams" not in github.paths()


def test_it_reads_every_page_of_teams(sign_in, github):
    github.users["bob"].teams = [f"team-{n:03}" for n in range(130)]
    sign_in("bob")
    roles = Profile.objects.get(login="bob").provider_roles
    assert len(roles) == 131 and roles[-1] == "team-129"
    assert github.paths().count("/api/v3/user/teams") == 2


def test_without_an_org_anyone_signs_in_with_no_provider_roles(sign_in, browser, github, settings):
    settings.GITHUB_ORG = ""
    settings.GITHUB_ROLE_FIELD = "org"
    sign_in("mallory")
    assert signed_in_user(browser).username == "mallory"
    assert Profile.objects.get(login="mallory").provider_roles == []


def test_it_resolves_a_private_email_from_user_emails(sign_in, github):
    sign_in("carol")
    assert Profile.objects.get(login="carol").email == "carol@acme.example"
    assert "/api/v3/user/emails" in github.paths()


def test_an_unverified_primary_address_is_passed_over(sign_in, github):
    github.users["carol"].emails = [
        {"email": "carol@unverified.example", "primary": True, "verified": False},
        {"email": "carol@verified.example", "primary": False, "verified": True},
    ]
    sign_in("carol")
    assert Profile.objects.get(login="carol").email == "carol@verified.example"


def test_it_rejects_a_bad_state_with_an_error_page_and_no_user(sign_in, browser, github):
    response = sign_in("alice", tamper_state=True)

    assert response.status_code == 302 and response["Location"] == ERROR_PAGE
    page = browser.get(ERROR_PAGE)
    assert page.status_code == 200
    assert "did not complete" in page.content.decode()
    assert signed_in_user(browser) is None and not User.objects.exists()
    # The forged callback never reached the token endpoint.
    assert "/login/oauth/access_token" not in github.paths()
    assert AuditRecord.objects.get().type == "auth/login-refused"


def test_a_callback_without_a_sign_in_started_here_is_rejected(browser, github):
    response = browser.get("/complete/github-enterprise/?code=abc&state=xyz")
    assert response.status_code == 302 and response["Location"] == ERROR_PAGE
    assert not User.objects.exists()


def test_a_github_outage_shows_an_error_page_not_a_500(browser, github):
    callback = start_sign_in(browser, github, login="alice")
    github.server.stop()

    response = browser.get(callback)

    assert response.status_code == 302 and response["Location"] == ERROR_PAGE
    page = browser.get(ERROR_PAGE)
    assert page.status_code == 200
    assert "could not be reached" in page.content.decode()
    assert not User.objects.exists()
    record = AuditRecord.objects.get()
    assert (record.type, record.outcome) == ("auth/login-refused", "failed")


def test_a_hanging_github_shows_an_error_page(sign_in, browser, github, settings):
    settings.SOCIAL_AUTH_REQUESTS_TIMEOUT = 0.5
    github.delay = 2
    response = sign_in("alice")
    assert response["Location"] == ERROR_PAGE
    assert "did not respond in time" in browser.get(ERROR_PAGE).content.decode()


def test_declining_on_github_shows_an_error_page(browser, github):
    response = browser.get(start_sign_in(browser, github, deny="1"))
    assert response["Location"] == ERROR_PAGE
    assert not User.objects.exists()


def test_sign_in_and_sign_out_leave_exactly_one_record_each(sign_in, browser, github):
    sign_in("alice")
    login = AuditRecord.objects.get()
    profile = Profile.objects.get(login="alice")
    assert (login.type, login.event, login.outcome) == ("auth/login", "auth/login", "succeeded")
    assert login.document["data"]["user"] == {
        "provider": "github-enterprise",
        "email": "alice@acme.example",
        "name": "Alice Admin",
        "login": "alice",
        "id": str(profile.flex_id),
    }
    assert login.document["data"]["event"][1]["roles"] == ["admin", "admins"]
    assert login.document["ctx"]["client-ip"] == "127.0.0.1"
    assert login.document["ctx"]["user-agent"] == USER_AGENT
    assert login.flex_user_id == profile.flex_id

    response = browser.post("/accounts/logout/")

    assert response.status_code == 302
    assert signed_in_user(browser) is None
    assert AuditRecord.objects.count() == 2
    logout = AuditRecord.objects.get(type="auth/logout")
    assert (logout.event, logout.login, logout.flex_user_id) == (
        "auth/logout",
        "alice",
        profile.flex_id,
    )
    assert logout.document["ctx"]["user-agent"] == USER_AGENT


def test_sign_out_is_post_only(sign_in, browser, github):
    sign_in("alice")
    assert browser.get("/accounts/logout/").status_code == 405
    assert signed_in_user(browser) is not None
    assert not AuditRecord.objects.filter(type="auth/logout").exists()


def test_signing_out_through_admin_is_recorded_too(sign_in, browser, github):
    sign_in("alice")
    browser.post("/admin/logout/")
    assert signed_in_user(browser) is None
    assert AuditRecord.objects.filter(type="auth/logout").count() == 1


@pytest.mark.parametrize(
    "target", ["https://evil.example/steal", "//evil.example/x", "https:///evil.example"]
)
def test_it_ignores_an_open_redirect_after_sign_in(sign_in, target):
    response = sign_in("alice", next=target)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_follows_a_local_next_path_after_sign_in(sign_in):
    assert sign_in("alice", next="/healthz")["Location"] == "/healthz"


def test_the_sign_in_button_is_a_form_posting_with_a_csrf_token(github):
    strict = Client(enforce_csrf_checks=True)
    page = strict.get("/accounts/login/").content.decode()
    assert 'action="/login/github-enterprise/"' in page
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page
    assert "Sign in with GitHub Enterprise" in page
    assert strict.post("/login/github-enterprise/").status_code == 403  # no token
    assert strict.get("/login/github-enterprise/").status_code == 405


def test_it_keeps_no_github_access_token(sign_in, github):
    sign_in("alice")
    social = UserSocialAuth.objects.get()
    assert "access_token" not in social.extra_data


def test_a_deactivated_user_is_refused(sign_in, browser, github):
    sign_in("bob")
    browser.post("/accounts/logout/")
    User.objects.filter(username="bob").update(is_active=False)

    response = sign_in("bob")

    assert response["Location"] == ERROR_PAGE
    assert "deactivated" in browser.get(ERROR_PAGE).content.decode()
    assert signed_in_user(browser) is None
    refused = AuditRecord.objects.filter(type="auth/login-refused")
    assert [r.login for r in refused] == ["bob"]
    assert AuditRecord.objects.filter(type="auth/login").count() == 1


def test_a_signed_in_user_does_not_sign_in_again_as_someone_else(sign_in, browser, github):
    sign_in("alice")
    response = sign_in("bob")
    assert response["Location"] == ERROR_PAGE
    assert signed_in_user(browser).username == "alice"
    assert not User.objects.filter(username="bob").exists()


def test_there_is_no_unaudited_disconnect_url(sign_in, browser, github):
    sign_in("alice")
    assert browser.post("/disconnect/github-enterprise/").status_code == 404
    assert UserSocialAuth.objects.count() == 1
