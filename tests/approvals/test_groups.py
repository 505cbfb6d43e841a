"""A Stage policy holds consumer-group resets and deletions for approval; previews still run."""

from __future__ import annotations

import pytest

from approvals.models import Approval
from audit.models import AuditRecord
from rbac import engine
from rbac.models import Policy
from tests.topics.groups import commit, committed, new_group, produce_each

from .conftest import approval, records_of

GROUP_ACTIONS = ["GROUP_EDIT", "GROUP_DELETE"]


@pytest.fixture
def group_staging(personas, dan) -> None:
    """Team platform's group changes are staged; admins are allowed them."""
    Policy.objects.create(
        resource=["cluster", "*", "group", "*"],
        effect="Stage",
        actions=GROUP_ACTIONS,
        roles=["platform"],
    )
    Policy.objects.create(
        resource=["cluster", "*"], effect="Allow", actions=GROUP_ACTIONS, roles=["admins"]
    )
    engine.invalidate()


@pytest.fixture
def group(cluster, make_topic) -> tuple[str, str]:
    """An empty group committed at 1 on a topic of 4 messages."""
    topic, name = make_topic(), new_group()
    produce_each(cluster, topic, {0: 4})
    commit(cluster, name, {(topic, 0): 1})
    return name, topic


def url(name: str, tail: str = "") -> str:
    return f"/api/clusters/flex-test/groups/{name}/{tail}"


def test_a_preview_runs_under_stage_and_a_reset_waits_for_approval(
    api, group_staging, cluster, group
):
    name, topic = group
    body = {"topic": topic, "to": "latest"}
    preview = api("bob").post(url(name, "offsets/"), body, format="json")
    assert preview.status_code == 200, preview.json()
    assert preview.json()["changes"] == [{"topic": topic, "partition": 0, "from": 1, "to": 4}]
    assert AuditRecord.objects.get(id=preview.json()["audit_record"]).outcome == "succeeded"

    staged = api("bob").post(url(name, "offsets/"), {**body, "dry_run": False}, format="json")
    assert staged.status_code == 202, staged.json()
    assert committed(cluster, name) == {(topic, 0): 1}  # nothing moved
    held = approval(staged.json()["approval"])
    assert (held.event, held.state) == ("mutation/reset-group-offsets", Approval.PENDING)

    done = api("alice").post(f"/api/approvals/{held.pk}/approve", {}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "succeeded"
    assert committed(cluster, name) == {(topic, 0): 4}
    requested, decided, ran = records_of(str(held.pk))
    assert (requested.event, requested.outcome) == ("mutation/reset-group-offsets", "staged")
    assert decided.event == "mutation/approve-request"
    assert (ran.event, ran.outcome, ran.login) == (
        "mutation/reset-group-offsets",
        "succeeded",
        "alice",
    )
    assert ran.document["data"]["event"][1]["changes"] == [
        {"topic": topic, "partition": 0, "from": 1, "to": 4}
    ]


def test_a_staged_deletion_deletes_nothing_until_approved(api, group_staging, cluster, group):
    name, topic = group
    staged = api("bob").delete(url(name))
    assert staged.status_code == 202, staged.json()
    assert committed(cluster, name) == {(topic, 0): 1}
    approval_id = staged.json()["approval"]
    rejected = api("alice").post(f"/api/approvals/{approval_id}/reject", {}, format="json")
    assert rejected.status_code == 200, rejected.json()
    assert committed(cluster, name) == {(topic, 0): 1}
    assert approval(approval_id).state == Approval.REJECTED
