"""Flex answers its own 404, 403 and 500 pages, in its layout, with DEBUG on as with it off."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client, RequestFactory
from django.urls import reverse

from flex import errors
from lib.errors import Refused

DEBUG_PAGE_MARKS = ("Using the URLconf", "Page not found at", "technical", "Traceback")
LAYOUT_MARK = '<a class="brand" href="/">Flex</a>'

both_modes = pytest.mark.parametrize("debug", [True, False], ids=["debug-on", "debug-off"])


@pytest.fixture
def debug(request, settings) -> bool:
    settings.DEBUG = request.param
    return request.param


def assert_flex_page(response, status: int) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert LAYOUT_MARK in body
    for mark in DEBUG_PAGE_MARKS:
        assert mark not in body
    return body


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@both_modes
def test_it_answers_an_unknown_url_with_flex_404(db, debug, client):
    body = assert_flex_page(client.get("/no/such/page/"), 404)
    assert "Not found" in body
    assert "There is no page at /no/such/page/." in body


@both_modes
def test_it_shows_the_nav_to_a_signed_in_user_on_404(personas, debug):
    body = assert_flex_page(signed_in(personas["bob"]).get("/no/such/page/"), 404)
    assert "Clusters</a>" in body
    assert "Sign out" in body


@both_modes
def test_it_escapes_the_path_it_names(db, debug, client):
    body = assert_flex_page(client.get("/<script>alert(1)</script>/"), 404)
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;" in body


@both_modes
def test_it_names_the_unknown_cluster(personas, debug):
    body = assert_flex_page(signed_in(personas["bob"]).get("/clusters/nope/topics/"), 404)
    assert "no cluster &#x27;nope&#x27; is registered" in body


def test_it_still_redirects_to_the_slashed_url(db, settings, client):
    settings.DEBUG = True
    response = client.get("/clusters")
    assert response.status_code == 301
    assert response["Location"] == "/clusters/"


@both_modes
def test_it_answers_an_unknown_api_url_with_json(db, debug, client):
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "There is no page at /api/nope."}


@both_modes
def test_it_refuses_an_outsider_with_flex_403(personas, debug):
    body = assert_flex_page(signed_in(personas["mallory"]).get("/clusters/"), 403)
    assert "Not allowed" in body
    assert "not authorized to use Flex" in body


@both_modes
def test_it_refuses_a_topic_list_outside_authorized_roles(personas, debug):
    body = assert_flex_page(signed_in(personas["mallory"]).get("/clusters/any/topics/"), 403)
    assert "not authorized to use Flex" in body
    assert "policy simulator" not in body


@both_modes
def test_it_refuses_admin_to_a_signed_in_non_staff_user(personas, debug):
    client = signed_in(personas["bob"])
    for path in ("/admin/", "/admin/rbac/policy/", "/admin/no/such/"):
        body = assert_flex_page(client.get(path), 403)
        assert "Django admin is open to Flex admins only." in body


def test_it_still_sends_a_signed_out_user_from_admin_to_sign_in(db, client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == f"{reverse('login')}?next=%2Fadmin%2F"
    assert response.status_code == 200


def test_it_opens_admin_to_staff(personas):
    alice = personas["alice"]
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    assert signed_in(alice).get("/admin/").status_code == 200


# The 403 view itself, with a Refused naming what the page needed.


def refused_page(user, exception: Exception) -> str:
    request = RequestFactory().get("/clusters/c1/topics/tx-events/delete/")
    request.user = user
    response = errors.permission_denied(request, exception)
    assert response.status_code == 403
    return response.content.decode()


REFUSAL = Refused(
    "you may not delete this topic",
    action="TOPIC_DELETE",
    resource=["cluster", "c1", "topic", "tx-events"],
)


def test_it_names_the_action_and_resource_refused(personas):
    body = refused_page(personas["bob"], REFUSAL)
    assert LAYOUT_MARK in body
    assert "you may not delete this topic" in body
    assert "<code>TOPIC_DELETE</code>" in body
    assert "<code>cluster/c1/topic/tx-events</code>" in body


def test_it_links_the_policy_simulator_for_an_admin(personas):
    body = refused_page(personas["alice"], REFUSAL)
    assert f'<a href="{reverse("policy-simulate")}">policy simulator</a>' in body


def test_it_hides_the_policy_simulator_from_a_member(personas):
    body = refused_page(personas["bob"], REFUSAL)
    assert reverse("policy-simulate") not in body
    assert "policy simulator" not in body


def test_it_shows_a_plain_permission_denied_text(personas):
    body = refused_page(personas["bob"], PermissionDenied("only on Tuesdays"))
    assert "only on Tuesdays" in body
    assert "Action:" not in body


def test_it_says_something_for_a_bare_permission_denied(personas):
    assert errors.REFUSED in refused_page(personas["bob"], PermissionDenied())


def test_it_escapes_a_refusal_message(personas):
    body = refused_page(personas["bob"], Refused("<b>no</b>", resource=["cluster", "<i>"]))
    assert "<b>no</b>" not in body
    assert "&lt;b&gt;no&lt;/b&gt;" in body
    assert "cluster/&lt;i&gt;" in body


def test_it_answers_a_refused_api_call_with_json(personas):
    request = RequestFactory().post("/api/whatever")
    request.user = personas["bob"]
    response = errors.permission_denied(request, REFUSAL)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "error": "denied",
        "detail": "you may not delete this topic",
    }


def test_it_escapes_an_http404_message(db):
    request = RequestFactory().get("/x/")
    request.user = _anonymous()
    response = errors.page_not_found(request, Http404("no cluster '<x>' is registered"))
    body = response.content.decode()
    assert "&lt;x&gt;" in body
    assert "<x>" not in body


# 500: Flex's page with DEBUG off (with DEBUG on, Django's technical page stays for developers).


def test_it_answers_500_with_flex_page_and_no_traceback(personas):
    request = RequestFactory().get("/clusters/")
    request.user = personas["bob"]
    response = errors.server_error(request)
    assert response.status_code == 500
    body = response.content.decode()
    assert LAYOUT_MARK in body
    assert "Something went wrong" in body
    assert "Traceback" not in body


def test_it_renders_500_when_the_request_context_fails(db):
    class Broken:
        @property
        def is_authenticated(self) -> bool:
            raise RuntimeError("the session store is down")

    request = RequestFactory().get("/clusters/")
    request.user = Broken()
    response = errors.server_error(request)
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_it_answers_500_on_api_with_json(db):
    response = errors.server_error(RequestFactory().get("/api/clusters/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"] == "server_error"


def test_it_serves_flex_500_for_an_unhandled_error_with_debug_off(personas, settings, monkeypatch):
    def bug(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("flex.views.redirect", bug)
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(personas["bob"])
    body = assert_flex_page(client.get("/"), 500)
    assert "Something went wrong" in body
    assert "a bug" not in body


def _anonymous():
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()
