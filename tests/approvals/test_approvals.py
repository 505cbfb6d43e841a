"""Stage policies turn actions into requests for approval; admins decide them, four eyes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from approvals import decisions
from approvals.models import Approval
from audit.models import AuditRecord
from topics import kafka as kafka_client

from ..conftest import run_together
from ..topics.conftest import topic_names
from .conftest import BASE, approval, records_of


def stage_create(api, name: str, partitions: int = 2, login: str = "bob") -> dict:
    body = {"name": name, "partitions": partitions, "replication_factor": 1}
    response = api(login).post(BASE, body, format="json")
    assert response.status_code == 202, response.json()
    return response.json()


def approve(api, approval_id: str, login: str = "alice", body: dict | None = None):
    return api(login).post(f"/api/approvals/{approval_id}/approve", body or {}, format="json")


def test_a_staged_create_leaves_no_topic_until_an_admin_approves_it(
    api, staging, cluster, new_name
):
    name = new_name()
    staged = stage_create(api, name)
    assert staged["status"] == "staged"
    assert name not in topic_names(cluster)
    request_record = AuditRecord.objects.get(id=staged["audit_record"])
    assert request_record.outcome == "staged"
    assert request_record.document["data"]["response"] == {"status": "staged", "error": None}
    assert request_record.document["ctx"]["correlation-id"] == staged["approval"]
    assert approval(staged["approval"]).state == Approval.PENDING

    response = approve(api, staged["approval"], body={"comment": "looks right"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "succeeded"
    assert name in topic_names(cluster)
    assert len(kafka_client.describe_topic(cluster, name).partitions) == 2
    requested, decided, ran = records_of(staged["approval"])
    assert (requested.event, requested.outcome) == ("mutation/create-topic", "staged")
    assert (decided.event, decided.outcome, decided.login) == (
        "mutation/approve-request",
        "succeeded",
        "alice",
    )
    assert decided.document["data"]["event"][1]["comment"] == "looks right"
    assert (ran.event, ran.outcome, ran.login) == ("mutation/create-topic", "succeeded", "alice")
    assert ran.document["ctx"]["requested-by"] == "bob"
    assert str(ran.id) == body["audit_record"]
    assert approval(staged["approval"]).state == Approval.SUCCEEDED


def test_the_approval_runs_the_stored_request_whatever_the_approve_call_carries(
    api, staging, cluster, new_name
):
    name, other = new_name(), new_name()
    staged = stage_create(api, name, partitions=1)
    forged = {
        "comment": "ok",
        "name": other,
        "partitions": 5,
        "stored": {"event": "mutation/create-topic", "name": other},
        "resource": ["cluster", "flex-test", "topic", other],
    }
    response = approve(api, staged["approval"], body=forged)
    assert response.json()["status"] == "succeeded"
    names = topic_names(cluster)
    assert name in names and other not in names
    assert len(kafka_client.describe_topic(cluster, name).partitions) == 1


def test_a_request_changed_after_it_was_staged_is_refused_and_not_run(
    api, staging, cluster, new_name
):
    name, other = new_name(), new_name()
    staged = stage_create(api, name)
    row = approval(staged["approval"])
    row.stored = {**row.stored, "data": {**row.stored["data"], "name": other}}
    row.save()
    response = approve(api, staged["approval"])
    assert (response.status_code, response.json()["error"]) == (409, "digest_mismatch")
    assert not {name, other} & topic_names(cluster)
    assert records_of(staged["approval"])[-1].outcome == "failed"


def test_nobody_approves_their_own_request(api, staging, cluster, new_name):
    name = new_name()
    staged = stage_create(api, name, login="dan")
    for verb in ("approve", "reject"):
        response = api("dan").post(f"/api/approvals/{staged['approval']}/{verb}")
        assert (response.status_code, response.json()["error"]) == (403, "self_approval")
    refusals = records_of(staged["approval"])[1:]
    assert [(r.event, r.outcome) for r in refusals] == [
        ("mutation/approve-request", "denied"),
        ("mutation/reject-request", "denied"),
    ]
    assert name not in topic_names(cluster)
    assert approval(staged["approval"]).state == Approval.PENDING


@pytest.mark.parametrize(
    ("login", "why"),
    [("carol", "not an admin"), ("dan", "an admin whose own decision is Stage, not Allow")],
)
def test_an_approver_the_policies_do_not_allow_is_refused_and_recorded(
    api, staging, cluster, new_name, login, why
):
    name = new_name()
    staged = stage_create(api, name)
    response = approve(api, staged["approval"], login=login)
    assert (response.status_code, response.json()["error"]) == (403, "not_approver"), why
    refusal = AuditRecord.objects.get(id=response.json()["audit_record"])
    assert (refusal.event, refusal.outcome, refusal.login) == (
        "mutation/approve-request",
        "denied",
        login,
    )
    assert refusal.document["ctx"]["correlation-id"] == staged["approval"]
    assert name not in topic_names(cluster)


def test_a_request_is_decided_once(api, staging, cluster, new_name):
    staged = stage_create(api, new_name())
    assert approve(api, staged["approval"]).json()["status"] == "succeeded"
    for verb in ("approve", "reject"):
        response = api("alice").post(f"/api/approvals/{staged['approval']}/{verb}")
        assert (response.status_code, response.json()["error"]) == (409, "not_pending")
    events = [(r.event, r.outcome) for r in records_of(staged["approval"])]
    assert events[-2:] == [
        ("mutation/approve-request", "failed"),
        ("mutation/reject-request", "failed"),
    ]
    assert (
        AuditRecord.objects.filter(event="mutation/create-topic", outcome="succeeded").count() == 1
    )


def test_a_rejected_request_never_runs(api, staging, cluster, new_name):
    name = new_name()
    staged = stage_create(api, name)
    response = api("alice").post(
        f"/api/approvals/{staged['approval']}/reject", {"comment": "not now"}, format="json"
    )
    assert response.json()["status"] == "rejected"
    assert approval(staged["approval"]).state == Approval.REJECTED
    assert approval(staged["approval"]).comment == "not now"
    assert approve(api, staged["approval"]).status_code == 409
    assert name not in topic_names(cluster)


def test_an_expired_request_is_marked_expired_recorded_and_refused(api, staging, cluster, new_name):
    name = new_name()
    staged = stage_create(api, name)
    Approval.objects.filter(pk=staged["approval"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    response = approve(api, staged["approval"])
    assert (response.status_code, response.json()["error"]) == (409, "not_pending")
    assert approval(staged["approval"]).state == Approval.EXPIRED
    events = [(r.event, r.outcome, r.login) for r in records_of(staged["approval"])]
    assert events[1:] == [
        ("mutation/expire-request", "succeeded", "flex"),
        ("mutation/approve-request", "failed", "alice"),
    ]
    assert name not in topic_names(cluster)


def test_the_beat_task_expires_requests_past_their_time_once(api, staging, cluster, new_name):
    old, fresh = stage_create(api, new_name()), stage_create(api, new_name())
    Approval.objects.filter(pk=old["approval"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert decisions.expire_due() == 1
    assert decisions.expire_due() == 0
    assert approval(old["approval"]).state == Approval.EXPIRED
    assert approval(fresh["approval"]).state == Approval.PENDING
    assert [r.event for r in records_of(old["approval"])] == [
        "mutation/create-topic",
        "mutation/expire-request",
    ]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_approvals_run_the_request_once(api, staging, cluster, new_name, personas):
    staged = stage_create(api, new_name())
    answers = run_together(lambda: approve(api, staged["approval"]).status_code)
    assert sorted(answers) == [200, 409]
    assert (
        AuditRecord.objects.filter(event="mutation/create-topic", outcome="succeeded").count() == 1
    )


@pytest.mark.parametrize(
    ("verb", "path", "body", "state"),
    [
        ("delete", "{topic}/", None, Approval.SUCCEEDED),
        ("patch", "{topic}/configs/", {"set": {"retention.ms": "60000"}}, Approval.SUCCEEDED),
        (
            "post",
            "{topic}/messages/",
            {"value": "hello", "headers": {"h": "v"}},
            Approval.SUCCEEDED,
        ),
        # Tansu has no DeleteRecords: the approved truncate runs, and fails, recorded.
        ("post", "{topic}/truncate/", None, Approval.FAILED),
    ],
)
def test_every_topic_change_can_be_staged_and_approved(
    api, staging, cluster, make_topic, verb, path, body, state
):
    topic = make_topic()
    url = BASE + path.format(topic=topic)
    response = getattr(api("bob"), verb)(url, body, format="json")
    assert response.status_code == 202, response.json()
    staged = response.json()
    before = topic_state(cluster, topic)
    assert before == (True, None, 0)  # nothing happened on Kafka
    answer = approve(api, staged["approval"]).json()
    assert approval(staged["approval"]).state == state
    assert answer["status"] == state
    after = {
        "delete": (False, None, None),
        "patch": (True, "60000", 0),
        "post": (True, None, 1 if "messages" in path else 0),
    }[verb]
    assert topic_state(cluster, topic) == after


def topic_state(cluster, topic: str) -> tuple[bool, str | None, int | None]:
    """(exists, retention.ms if set, messages)."""
    if topic not in topic_names(cluster):
        return False, None, None
    detail = kafka_client.describe_topic(cluster, topic)
    retention = next((c.value for c in detail.configs if c.name == "retention.ms"), None)
    return True, retention, detail.messages


def test_requesters_see_their_own_requests_and_admins_see_all(api, staging, cluster, new_name):
    bobs, dans = stage_create(api, new_name()), stage_create(api, new_name(), login="dan")

    def listed(login: str, **params) -> set[str]:
        return {row["id"] for row in api(login).get("/api/approvals/", params).json()}

    assert listed("bob") == {bobs["approval"]}
    assert listed("alice") == {bobs["approval"], dans["approval"]}
    assert listed("alice", state="succeeded") == set()
    assert api("carol").get(f"/api/approvals/{bobs['approval']}/").status_code == 404
    shown = api("bob").get(f"/api/approvals/{bobs['approval']}/").json()
    assert shown["operation"] == "mutation/create-topic"
    assert shown["requested_by"]["login"] == "bob"
    assert shown["request"]["topic-name"] == shown["resource"][3]
    bad = api("alice").get("/api/approvals/", {"state": "maybe"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_request")


def test_the_page_says_the_change_was_sent_for_approval_and_links_it(
    client, personas, staging, cluster, new_name
):
    client.force_login(personas["bob"])
    # A staged action is offered (using it asks for approval), not shown disabled.
    assert client.get("/clusters/flex-test/topics/").context["can_create"] is True
    name = new_name()
    response = client.post(
        "/clusters/flex-test/create-topic/",
        {"name": name, "partitions": "1", "replication_factor": "1"},
        follow=True,
    )
    request = Approval.objects.get()
    page = response.content.decode()
    assert "Sent for approval" in page
    assert f"/settings/approvals/{request.id}/" in page
    assert name not in topic_names(cluster)
    client.force_login(personas["alice"])
    detail = client.get(f"/settings/approvals/{request.id}/")
    assert name in detail.content.decode()
    decided = client.post(
        f"/settings/approvals/{request.id}/approve", {"comment": "go"}, follow=True
    )
    assert "succeeded" in decided.content.decode()
    assert name in topic_names(cluster)


def test_the_user_log_shows_the_users_pending_requests_and_active_grants(
    client, api, personas, staging, cluster, new_name
):
    from rbac.models import TemporaryPolicy

    mine, dans = stage_create(api, new_name()), stage_create(api, new_name(), login="dan")
    TemporaryPolicy.objects.create(
        user_login="bob",
        actions=["TOPIC_INSPECT"],
        resource=["cluster", "*"],
        reason="debugging orders",
        granted_by="alice",
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )
    client.force_login(personas["bob"])
    page = client.get("/settings/user-log/").content.decode()
    assert f"/settings/approvals/{mine['approval']}/" in page
    assert f"/settings/approvals/{dans['approval']}/" not in page
    assert "debugging orders" in page and "user:bob" in page
    client.force_login(personas["carol"])
    assert "debugging orders" not in client.get("/settings/user-log/").content.decode()


def test_the_approvals_list_runs_the_same_queries_whatever_its_length(
    client, api, personas, staging, cluster, new_name
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(personas["alice"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as seen:
            assert client.get("/settings/approvals/").status_code == 200
            assert api("alice").get("/api/approvals/").status_code == 200
        return len(seen)

    stage_create(api, new_name())
    queries()  # session and caches settle
    few = queries()
    for _ in range(4):
        stage_create(api, new_name())
    assert queries() == few
