"""Temporary policies: granted by an admin for a capped time, never beyond the granter's rights,
in force in every process within 2 s and gone within 2 s of their expiry."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from audit.models import AuditRecord
from rbac import engine
from rbac.door import authorize
from rbac.models import Policy, TemporaryPolicy
from rbac.roles import actor_for_user
from rbac.tasks import expire_temporary_policies
from tests.conftest import ROOT, run_together, wait_until

URL = "/api/rbac/temporary-policies/"
TARGET = ["cluster", "flex-test", "topic", "orders"]


@pytest.fixture
def admins_allowed(personas) -> None:
    """Admins are allowed every topic action except TOPIC_TRUNCATE, by the policy table."""
    Policy.objects.create(
        resource=["cluster", "*"],
        effect="Allow",
        actions=["TOPIC_CREATE", "TOPIC_DELETE", "TOPIC_EDIT", "TOPIC_PRODUCE"],
        roles=["admins"],
    )
    engine.invalidate()


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def grant_body(**changes) -> dict:
    body = {
        "role": "platform",
        "effect": "Allow",
        "actions": ["TOPIC_DELETE"],
        "resource": ["cluster", "*"],
        "duration_seconds": 600,
        "reason": "incident 42",
    }
    return {key: value for key, value in {**body, **changes}.items() if value is not None}


def bob_may(personas, action: str = "TOPIC_DELETE") -> bool:
    return authorize(actor_for_user(personas["bob"]), action, TARGET).success


def last(event: str) -> AuditRecord:
    return AuditRecord.objects.filter(event=event).order_by("-ts", "-id").first()


def test_an_admin_grants_a_role_a_policy_that_decides_at_once(personas, admins_allowed):
    assert not bob_may(personas)
    response = api_as(personas["alice"]).post(URL, grant_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["role"] == "platform" and 590 <= body["seconds_left"] <= 600
    assert bob_may(personas)
    record = last("mutation/grant-temporary-policy")
    assert (record.outcome, record.login) == ("succeeded", "alice")
    assert record.document["data"]["event"][1]["after"]["reason"] == "incident 42"
    listed = api_as(personas["alice"]).get(URL).json()
    assert [row["id"] for row in listed] == [body["id"]]
    decision = authorize(actor_for_user(personas["bob"]), "TOPIC_DELETE", TARGET)
    assert decision.decided_by["temporary-policy"] == body["id"]
    assert decision.decided_by["expires-at"] == body["expires_at"]


def test_a_grant_to_one_user_applies_to_that_user_only(personas, admins_allowed):
    alice = api_as(personas["alice"])
    response = alice.post(URL, grant_body(role=None, user="bob"), format="json")
    assert response.status_code == 201, response.json()
    assert bob_may(personas)
    carol = actor_for_user(personas["carol"])
    assert not authorize(carol, "TOPIC_DELETE", TARGET).success


def test_a_decision_a_temporary_policy_made_names_it_in_the_record(personas, admins_allowed, kafka):
    from topics import kafka as kafka_client
    from topics.models import primary_cluster

    kafka_client.describe_cluster(primary_cluster())
    grant = api_as(personas["alice"]).post(URL, grant_body(actions=["TOPIC_CREATE"]), format="json")
    name = f"temp-{time.time_ns()}"
    response = api_as(personas["bob"]).post(
        "/api/clusters/flex-test/topics/", {"name": name}, format="json"
    )
    assert response.status_code == 201, response.json()
    record = AuditRecord.objects.get(id=response.json()["audit_record"])
    [policy] = record.document["data"]["rbac"]["policies"]
    assert policy["temporary-policy"] == grant.json()["id"]
    assert policy["role"] == "platform"


@pytest.mark.parametrize(
    ("changes", "code", "says"),
    [
        ({"duration_seconds": 3601}, "exceeds_cap", "3600"),
        ({"reason": None}, "invalid_request", "reason"),
        ({"reason": "  "}, "invalid_request", "reason"),
        ({"duration_seconds": 0}, "invalid_request", "duration_seconds"),
        ({"actions": ["TOPIC_FLY"]}, "invalid_request", "TOPIC_FLY"),
        ({"user": "bob"}, "invalid_request", "one of them"),
        ({"role": None, "user": "nobody-here"}, "invalid_request", "nobody-here"),
    ],
)
def test_a_bad_grant_is_refused_with_400_and_recorded(
    personas, admins_allowed, changes, code, says
):
    response = api_as(personas["alice"]).post(URL, grant_body(**changes), format="json")
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert says in response.json()["detail"]
    assert last("mutation/grant-temporary-policy").outcome == "failed"
    assert not TemporaryPolicy.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"actions": ["TOPIC_TRUNCATE"]},  # not allowed to alice by any policy
        {"actions": ["TOPIC_DELETE", "TOPIC_TRUNCATE"]},  # one of them is enough to refuse
        {"resource": ["cluster", "*", "topic", "*"], "actions": ["TOPIC_INSPECT"]},
    ],
)
def test_a_grant_beyond_the_granters_rights_is_refused(personas, admins_allowed, changes):
    response = api_as(personas["alice"]).post(URL, grant_body(**changes), format="json")
    assert (response.status_code, response.json()["error"]) == (403, "exceeds_granter")
    assert last("mutation/grant-temporary-policy").outcome == "denied"
    assert not TemporaryPolicy.objects.exists()


def test_a_granters_own_temporary_rights_cannot_be_passed_on(personas, admins_allowed):
    alice = api_as(personas["alice"])
    own = grant_body(role="admins", actions=["TOPIC_TRUNCATE"])
    TemporaryPolicy.objects.create(
        role="admins",
        actions=own["actions"],
        resource=own["resource"],
        reason="given to alice's role",
        granted_by="root",
        expires_at=datetime.fromtimestamp(time.time() + 600).astimezone(),
    )
    assert authorize(actor_for_user(personas["alice"]), "TOPIC_TRUNCATE", TARGET).success
    response = alice.post(URL, grant_body(actions=["TOPIC_TRUNCATE"]), format="json")
    assert (response.status_code, response.json()["error"]) == (403, "exceeds_granter")


def test_only_admins_grant(personas, admins_allowed):
    response = api_as(personas["bob"]).post(URL, grant_body(), format="json")
    assert response.status_code == 403
    assert last("mutation/grant-temporary-policy").outcome == "denied"
    assert api_as(personas["bob"]).get(URL).status_code == 403


def test_an_admin_revokes_a_grant_early(personas, admins_allowed):
    alice = api_as(personas["alice"])
    grant = alice.post(URL, grant_body(), format="json").json()
    assert bob_may(personas)
    response = alice.delete(f"{URL}{grant['id']}/")
    assert response.status_code == 200
    assert not bob_may(personas)
    assert last("mutation/revoke-temporary-policy").outcome == "succeeded"
    again = alice.delete(f"{URL}{grant['id']}/")
    assert (again.status_code, again.json()["error"]) == (409, "not_active")
    assert last("mutation/revoke-temporary-policy").outcome == "failed"
    assert alice.get(URL).json() == []


# Another process: a shell deciding for bob through the door, printing each change of answer.
PROBE = """
import os, time
from django.contrib.auth import get_user_model
from rbac.door import authorize
from rbac.roles import actor_for_user
actor = actor_for_user(get_user_model().objects.get(username="bob"))
target = ["cluster", "flex-test", "topic", "orders"]
deadline = time.time() + float(os.environ["PROBE_SECONDS"])
last = None
print("ready", flush=True)
while time.time() < deadline:
    allowed = authorize(actor, "TOPIC_DELETE", target).success
    if allowed != last:
        print(repr(time.time()), allowed, flush=True)
        last = allowed
    time.sleep(0.02)
"""


def _probe(seconds: float) -> tuple[subprocess.Popen, list[str]]:
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FLEX_TEST_DB_NAME": "",
        "PROBE_SECONDS": str(seconds),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:  # only its own lines: "ready", then "<time> True|False"
        for line in process.stdout:
            words = line.split()
            if words == ["ready"] or (len(words) == 2 and words[1] in ("True", "False")):
                lines.append(line.strip())

    threading.Thread(target=read, daemon=True).start()
    return process, lines


@pytest.mark.django_db(transaction=True)
def test_a_grant_allows_within_2_s_and_stops_after_expiry_in_another_process(
    personas, admins_allowed
):
    process, lines = _probe(seconds=60)
    try:
        wait_until(lambda: "ready" in lines, timeout=60)
        wait_until(lambda: len(lines) >= 2, timeout=10)  # its first answer: denied
        assert lines[1].endswith("False")
        response = api_as(personas["alice"]).post(
            URL, grant_body(role=None, user="bob", duration_seconds=3), format="json"
        )
        granted_at = time.time()
        expires_at = datetime.fromisoformat(response.json()["expires_at"]).timestamp()
        wait_until(lambda: len(lines) >= 4, timeout=20)
    finally:
        process.kill()
        process.wait()
    answers = [(float(line.split()[0]), line.split()[1] == "True") for line in lines[1:4]]
    (_, first), (allowed_at, second), (denied_at, third) = answers
    assert (first, second, third) == (False, True, False)
    assert allowed_at <= granted_at + 2.0
    assert expires_at - 0.01 <= denied_at <= expires_at + 2.0
    # Nobody acted: the grant's row was never written after the grant (no revocation, no
    # expiry record yet); the other process stopped it by its own clock.
    grant = TemporaryPolicy.objects.get()
    assert grant.revoked_at is None and grant.expired_at is None


@pytest.mark.django_db(transaction=True)
def test_expiry_is_recorded_exactly_once_by_two_workers(personas, admins_allowed):
    alice = api_as(personas["alice"])
    for _ in range(3):
        alice.post(URL, grant_body(duration_seconds=1), format="json")
    wait_until(lambda: not bob_may(personas), timeout=10)
    counts = run_together(expire_temporary_policies)
    assert sum(counts) == 3
    expiries = AuditRecord.objects.filter(event="mutation/expire-temporary-policy")
    assert expiries.count() == 3
    assert {r.login for r in expiries} == {"flex"}
    assert expire_temporary_policies() == 0


def test_the_settings_page_grants_and_revokes(client, personas, admins_allowed):
    client.force_login(personas["alice"])
    form = {
        "holder_kind": "user",
        "holder": "bob",
        "effect": "Allow",
        "actions": ["TOPIC_DELETE"],
        "resource": "cluster, *",
        "duration_seconds": "120",
        "reason": "on call",
    }
    page = client.post("/settings/policies/temporary/", form, follow=True).content.decode()
    grant = TemporaryPolicy.objects.get()
    assert "user:bob" in page and "on call" in page and bob_may(personas)
    client.post(f"/settings/policies/temporary/{grant.pk}/revoke")
    assert not bob_may(personas)
    refused = client.post("/settings/policies/temporary/", {**form, "duration_seconds": "9999"})
    assert refused.status_code == 400 and "3600" in refused.content.decode()
    events = AuditRecord.objects.filter(event__endswith="temporary-policy").order_by("ts", "id")
    assert [(r.event, r.outcome, r.document["ctx"]["via"]) for r in events] == [
        ("mutation/grant-temporary-policy", "succeeded", "ui"),
        ("mutation/revoke-temporary-policy", "succeeded", "ui"),
        ("mutation/grant-temporary-policy", "failed", "ui"),
    ]
