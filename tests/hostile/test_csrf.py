"""Unsafe requests without a CSRF token (a forged cross-site form, or a script on another
origin riding the session cookie): every one is refused with 403 and changes nothing.

The refusal happens in Django's CsrfViewMiddleware (or DRF's SessionAuthentication for the
API) before any view runs: no operation is attempted, so no audit record is needed and
none is written — each case asserts the record count is unchanged, and that the thing
the request would have changed (topic, config, messages, session, policy) is as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditRecord
from rbac.models import Policy
from tests.hostile.support import config_values, latest_offsets, topic_names
from topics import kafka as kafka_client


@dataclass
class Target:
    cluster: object
    topic: str
    new_name: str
    policy: Policy


@pytest.fixture
def target(personas, grant, cluster, planted, suffix) -> Target:
    return Target(cluster, planted(), f"csrf-{suffix}", grant())


@pytest.fixture
def forged(personas) -> Callable[[str], Client]:
    """A browser of ``login`` whose requests carry the session cookie but no CSRF token."""

    def make(login: str = "bob") -> Client:
        client = Client(enforce_csrf_checks=True)
        if login:
            user = personas[login]
            if login == "alice":
                user.is_staff = user.is_superuser = True
                user.save()
            client.force_login(user)
        return client

    return make


def _topic_url(t: Target, name: str) -> str:
    return reverse(name, kwargs={"cluster": t.cluster.key, "topic": t.topic})


def _api(t: Target, tail: str = "") -> str:
    return f"/api/clusters/{t.cluster.key}/topics{tail}"


def _topic_unchanged(t: Target) -> Callable[[], None]:
    offsets, configs = latest_offsets(t.cluster, t.topic), config_values(t.cluster, t.topic)

    def check() -> None:
        assert t.topic in topic_names(t.cluster)
        assert t.new_name not in topic_names(t.cluster)
        assert latest_offsets(t.cluster, t.topic) == offsets
        assert config_values(t.cluster, t.topic) == configs

    return check


def _policies_unchanged(t: Target) -> Callable[[], None]:
    before = list(Policy.objects.values_list("id", "actions", "enabled"))
    return lambda: (
        list(Policy.objects.values_list("id", "actions", "enabled")) == before
        or (pytest.fail("the policies changed"))
    )


# case -> (persona, method, url, data, content type or None for a form, what must not change)
CASES: dict[str, Callable[[Target], tuple]] = {
    "topic-create": lambda t: (
        "bob",
        "post",
        reverse("topic-create", kwargs={"cluster": t.cluster.key}),
        {"name": t.new_name, "partitions": "1", "replication_factor": "1"},
        None,
        _topic_unchanged(t),
    ),
    "topic-configs": lambda t: (
        "bob",
        "post",
        _topic_url(t, "topic-configs"),
        {"set": "retention.ms=1234"},
        None,
        _topic_unchanged(t),
    ),
    "topic-produce": lambda t: (
        "bob",
        "post",
        _topic_url(t, "topic-produce"),
        {"value": "forged"},
        None,
        _topic_unchanged(t),
    ),
    "topic-delete": lambda t: (
        "bob",
        "post",
        _topic_url(t, "topic-delete"),
        {"confirm": t.topic},
        None,
        _topic_unchanged(t),
    ),
    "topic-truncate": lambda t: (
        "bob",
        "post",
        _topic_url(t, "topic-truncate"),
        {"confirm": t.topic},
        None,
        _topic_unchanged(t),
    ),
    "policy-simulate": lambda t: (
        "alice",
        "post",
        reverse("policy-simulate"),
        {"action": "TOPIC_CREATE", "cluster": "*"},
        None,
        _policies_unchanged(t),
    ),
    "admin-policy-add": lambda t: (
        "alice",
        "post",
        reverse("admin:rbac_policy_add"),
        {"resource": "cluster, *", "effect": "Allow", "actions": "TOPIC_DELETE", "roles": "*"},
        None,
        _policies_unchanged(t),
    ),
    "admin-policy-delete": lambda t: (
        "alice",
        "post",
        reverse("admin:rbac_policy_delete", args=[t.policy.pk]),
        {"post": "yes"},
        None,
        _policies_unchanged(t),
    ),
    "api-topic-create": lambda t: (
        "bob",
        "post",
        _api(t),
        {"name": t.new_name},
        "application/json",
        _topic_unchanged(t),
    ),
    "api-produce": lambda t: (
        "bob",
        "post",
        _api(t, f"/{t.topic}/messages"),
        {"value": "forged"},
        "application/json",
        _topic_unchanged(t),
    ),
    "api-configs": lambda t: (
        "bob",
        "patch",
        _api(t, f"/{t.topic}/configs"),
        {"set": {"retention.ms": "1234"}},
        "application/json",
        _topic_unchanged(t),
    ),
    "api-delete": lambda t: (
        "bob",
        "delete",
        _api(t, f"/{t.topic}"),
        {},
        "application/json",
        _topic_unchanged(t),
    ),
    "api-truncate": lambda t: (
        "bob",
        "post",
        _api(t, f"/{t.topic}/truncate"),
        {},
        "application/json",
        _topic_unchanged(t),
    ),
    "api-decide": lambda t: (
        "alice",
        "post",
        "/api/rbac/decide",
        {"roles": [], "action": "TOPIC_CREATE", "resource": ["cluster", "*"]},
        "application/json",
        _policies_unchanged(t),
    ),
    "api-as-form-post": lambda t: (
        "bob",
        "post",
        _api(t),
        {"name": t.new_name},
        None,
        _topic_unchanged(t),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_unsafe_request_without_a_csrf_token_is_refused_and_changes_nothing(
    forged, target, case
):
    login, method, url, data, content_type, unchanged = case(target)
    client = forged(login)
    before = AuditRecord.objects.count()
    if content_type:
        response = getattr(client, method)(url, json.dumps(data), content_type=content_type)
    else:
        response = getattr(client, method)(url, data)
    assert response.status_code == 403, response.content[:300]
    assert b"CSRF" in response.content  # refused for the token, not by RBAC
    assert AuditRecord.objects.count() == before  # refused before any view: nothing to record
    unchanged()


def test_the_same_form_with_its_token_goes_through(forged, target):
    """The control: the refusals above are about the token, not the request."""
    client = forged("bob")
    url = reverse("topic-create", kwargs={"cluster": target.cluster.key})
    client.get(url)
    response = client.post(
        url,
        {"name": target.new_name, "partitions": "1", "replication_factor": "1",
         "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )  # fmt: skip
    assert response.status_code == 302
    assert target.new_name in topic_names(target.cluster)
    kafka_client.delete_topic(target.cluster, target.new_name)


def test_a_forged_token_is_refused(forged, target):
    client = forged("bob")
    client.get(reverse("topic-create", kwargs={"cluster": target.cluster.key}))  # sets the cookie
    before, unchanged = AuditRecord.objects.count(), _topic_unchanged(target)
    response = client.post(
        reverse("topic-create", kwargs={"cluster": target.cluster.key}),
        {"name": target.new_name, "partitions": "1", "replication_factor": "1",
         "csrfmiddlewaretoken": "forged" * 8},
    )  # fmt: skip
    assert response.status_code == 403
    assert AuditRecord.objects.count() == before
    unchanged()


def test_a_valid_token_from_another_origin_is_refused(forged, target):
    client = forged("bob")
    client.get(reverse("topic-create", kwargs={"cluster": target.cluster.key}))
    token = client.cookies["csrftoken"].value
    before, unchanged = AuditRecord.objects.count(), _topic_unchanged(target)
    response = client.post(
        reverse("topic-create", kwargs={"cluster": target.cluster.key}),
        {"name": target.new_name, "partitions": "1", "replication_factor": "1"},
        headers={"origin": "https://evil.example", "x-csrftoken": token},
    )
    assert response.status_code == 403
    assert AuditRecord.objects.count() == before
    unchanged()


def test_sign_out_without_a_token_keeps_the_session(forged, db):
    client = forged("bob")
    before = AuditRecord.objects.count()
    assert client.post(reverse("logout")).status_code == 403
    assert AuditRecord.objects.count() == before
    assert client.get(reverse("user-log")).status_code == 200  # still signed in


def test_a_local_sign_in_without_a_token_signs_nobody_in(forged, settings, personas):
    settings.FLEX_LOCAL_LOGIN = True
    client = forged("")
    before = AuditRecord.objects.count()
    response = client.post(reverse("login"), {"username": "bob", "password": "pw-bob"})
    assert response.status_code == 403
    assert AuditRecord.objects.count() == before
    assert "_auth_user_id" not in client.session


def test_starting_a_github_sign_in_without_a_token_is_refused(forged, github):
    client = forged("")
    response = client.post("/login/github-enterprise/", {"next": "/"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
