"""The policy simulator page and ``POST /api/rbac/decide``: admins only, one record per POST."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audit.models import AuditRecord

URL = "/settings/policies/simulate/"
API = "/api/rbac/decide"


@pytest.fixture
def policies(make_policy):
    allow = make_policy(["cluster", "*", "topic", "*"], "Allow", ["TOPIC_DELETE"], ["member"])
    deny = make_policy(["cluster", "*", "topic", "prod-*"], "Deny", ["TOPIC_DELETE"], ["platform"])
    return allow, deny


def _post_json(client, body):
    return client.post(API, json.dumps(body), content_type="application/json")


def _only_record() -> AuditRecord:
    records = list(AuditRecord.objects.all())
    assert len(records) == 1, [r.event for r in records]
    return records[0]


def test_the_navigation_link_resolves_to_the_simulator():
    assert reverse("policy-simulate") == URL
    assert reverse("rbac-decide") == API


def test_an_admin_opens_the_simulator(client, personas):
    client.force_login(personas["alice"])
    response = client.get(URL)
    assert response.status_code == 200
    assert b"Policy simulator" in response.content
    assert AuditRecord.objects.count() == 0


def test_a_member_gets_a_clear_403_page(client, personas):
    client.force_login(personas["bob"])
    response = client.get(URL)
    assert response.status_code == 403
    assert b"Only admins may open the policy pages" in response.content


def test_a_member_posting_is_refused_and_audited_as_denied(client, personas, policies):
    client.force_login(personas["bob"])
    response = client.post(URL, {"roles": "member", "action": "TOPIC_DELETE", "cluster": "c1"})
    assert response.status_code == 403
    record = _only_record()
    assert (record.event, record.outcome, record.login) == (
        "query/simulate-policy",
        "denied",
        "bob",
    )


def test_simulating_a_user_shows_the_decision_and_the_deciding_policy(client, personas, policies):
    allow, deny = policies
    client.force_login(personas["alice"])
    response = client.post(
        URL,
        {"user": personas["bob"].pk, "action": "TOPIC_DELETE", "cluster": "c1", "topic": "prod-x"},
    )
    assert response.status_code == 200
    decision = response.context["decision"]
    assert decision.success is False
    assert response.context["roles"] == [
        "member",
        "platform",
        "user:bob",
    ]  # the pseudo-role temporary grants use
    rows = response.context["rows"]
    assert [(row["id"], row["decided"]) for row in rows] == [(allow.pk, False), (deny.pk, True)]
    assert b"Denied" in response.content
    record = _only_record()
    assert (record.type, record.event, record.outcome) == (
        "query/request",
        "query/simulate-policy",
        "succeeded",
    )
    request = record.document["data"]["event"][1]
    assert request["user"] == "bob"
    assert request["resource"] == ["cluster", "c1", "topic", "prod-x"]
    assert request["success?"] is False
    assert record.login == "alice"


def test_typed_roles_decide_too(client, personas, policies):
    allow, _ = policies
    client.force_login(personas["alice"])
    response = client.post(
        URL, {"roles": "member", "action": "TOPIC_DELETE", "cluster": "c1", "topic": "dev-x"}
    )
    assert response.context["decision"].success is True
    assert response.context["rows"][0]["id"] == allow.pk
    assert b"Allowed" in response.content


def test_it_decides_on_a_consumer_group(client, personas, make_policy):
    policy = make_policy(["cluster", "*", "group", "team-*"], "Allow", ["GROUP_EDIT"], ["member"])
    client.force_login(personas["alice"])
    data = {"roles": "member", "action": "GROUP_EDIT", "cluster": "c1", "group": "team-a"}
    response = client.post(URL, data)
    assert response.context["decision"].success is True
    assert response.context["resource"] == ["cluster", "c1", "group", "team-a"]
    assert response.context["rows"][0]["id"] == policy.pk
    other = client.post(URL, {**data, "group": "other"})
    assert other.context["decision"].success is False


def test_a_topic_and_a_group_at_once_are_refused(client, personas):
    client.force_login(personas["alice"])
    data = {"roles": "m", "action": "GROUP_EDIT", "cluster": "c1", "topic": "t", "group": "g"}
    response = client.post(URL, data)
    assert response.status_code == 400
    assert "not both" in str(response.context["form"].errors)


def test_the_api_decides_on_a_consumer_group(client, personas, make_policy):
    make_policy(["cluster", "*", "group", "*-etl"], "Allow", ["GROUP_DELETE"], ["member"])
    client.force_login(personas["alice"])
    body = {"roles": ["member"], "action": "GROUP_DELETE", "resource": ["cluster", "c", "group"]}
    assert _post_json(client, {**body, "resource": [*body["resource"], "x-etl"]}).json()["allowed"]
    assert not _post_json(client, {**body, "resource": [*body["resource"], "x"]}).json()["allowed"]


def test_bad_simulator_input_is_a_400_with_the_error_and_is_audited(client, personas):
    client.force_login(personas["alice"])
    response = client.post(URL, {"roles": "member", "action": "TOPIC_NUKE", "cluster": ""})
    assert response.status_code == 400
    assert "action" in response.context["form"].errors
    assert "cluster" in response.context["form"].errors
    assert _only_record().outcome == "failed"


def test_the_api_decides_for_an_admin(client, personas, policies):
    allow, deny = policies
    client.force_login(personas["alice"])
    body = {
        "roles": ["member", "platform"],
        "action": "TOPIC_DELETE",
        "resource": ["cluster", "c1", "topic", "prod-1"],
    }
    response = _post_json(client, body)
    assert response.status_code == 200
    data = response.json()
    assert data["success?"] is False and data["allowed"] is False
    assert data["action"] == "TOPIC_DELETE"
    assert data["decided_by"] == deny.as_record()
    assert data["policies"] == [allow.as_record(), deny.as_record()]
    assert data["policy_ids"] == [allow.pk, deny.pk]
    record = _only_record()
    assert (record.event, record.outcome, record.document["ctx"]["via"]) == (
        "query/simulate-policy",
        "succeeded",
        "api",
    )


def test_the_api_refuses_a_member(client, personas, policies):
    client.force_login(personas["bob"])
    response = _post_json(
        client, {"roles": ["member"], "action": "TOPIC_DELETE", "resource": ["cluster", "c"]}
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert _only_record().outcome == "denied"


def test_the_api_needs_a_signed_in_user(client):
    response = _post_json(client, {"roles": [], "action": "TOPIC_DELETE", "resource": ["cluster"]})
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


@pytest.mark.parametrize(
    "body, code, words",
    [
        ("{not json", "invalid_json", "JSON"),
        ([1, 2], "invalid_body", "JSON object"),
        (
            {"roles": "member", "action": "TOPIC_DELETE", "resource": ["cluster", "c"]},
            "invalid_roles",
            "roles",
        ),
        (
            {"roles": [], "action": "TOPIC_NUKE", "resource": ["cluster", "c"]},
            "invalid_action",
            "TOPIC_NUKE",
        ),
        (
            {"roles": [], "action": "TOPIC_DELETE", "resource": ["cluster"]},
            "invalid_resource",
            '["cluster"]',
        ),
        (
            {"roles": [], "action": "TOPIC_DELETE", "resource": ["broker", "1"]},
            "invalid_resource",
            "broker",
        ),
        ({"roles": [], "resource": ["cluster", "c"]}, "invalid_action", "required"),
    ],
)
def test_bad_api_input_is_a_400_with_a_code_and_detail(client, personas, body, code, words):
    client.force_login(personas["alice"])
    payload = body if isinstance(body, str) else json.dumps(body)
    response = client.post(API, payload, content_type="application/json")
    assert response.status_code == 400
    data = response.json()
    assert data["error"] == code
    assert words in data["detail"]
    assert _only_record().outcome == "failed"


def test_a_superuser_without_roles_is_an_admin(client, db):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(root)
    assert client.get(URL).status_code == 200
    response = _post_json(
        client, {"roles": [], "action": "TOPIC_CREATE", "resource": ["cluster", "c"]}
    )
    assert response.status_code == 200
    assert response.json()["allowed"] is False


@pytest.mark.parametrize(
    ("effects", "effect", "allowed"),
    [
        (["Allow"], "Allow", True),
        (["Allow", "Stage"], "Stage", False),
        (["Stage", "Deny"], "Deny", False),
    ],
)
def test_the_api_answers_the_effect_beside_success(
    client, personas, make_policy, effects, effect, allowed
):
    for name in effects:
        make_policy(["cluster", "*"], name, ["TOPIC_CREATE"], ["member"])
    client.force_login(personas["alice"])
    body = {"roles": ["member"], "action": "TOPIC_CREATE", "resource": ["cluster", "c1"]}
    data = _post_json(client, body).json()
    assert (data["effect"], data["success?"]) == (effect, allowed)
    assert _only_record().document["data"]["event"][1]["effect"] == effect


def test_the_page_says_staged_and_shows_a_temporary_policy_with_its_expiry(
    client, personas, make_policy
):
    from datetime import UTC, datetime, timedelta

    from rbac.models import TemporaryPolicy

    make_policy(["cluster", "*"], "Stage", ["TOPIC_DELETE"], ["platform"])
    grant = TemporaryPolicy.objects.create(
        role="member",
        actions=["TOPIC_DELETE"],
        resource=["cluster", "*"],
        reason="incident",
        granted_by="alice",
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )
    client.force_login(personas["alice"])
    form = {"user": personas["bob"].pk, "action": "TOPIC_DELETE", "cluster": "c1", "topic": "t"}
    response = client.post(URL, form)
    assert response.context["verdict"] == "staged"
    page = response.content.decode()
    assert "Staged" in page and "sent for approval" in page
    assert f"temporary #{grant.pk}" in page and grant.expires_at.isoformat() in page
