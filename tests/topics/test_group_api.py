"""The consumer-group REST API on the real broker: lag, resets previewed (the default) and
applied, deletion, each call one audit record through the gate — denied ones included."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditRecord
from tests.topics.groups import commit, committed, member, new_group
from topics import kafka as kafka_client

from .conftest import last_record

BASE = "/api/clusters/flex-test/groups/"
EDIT, DELETE = ["GROUP_EDIT"], ["GROUP_DELETE"]


def _reset(api, group, **body):
    return api.post(f"{BASE}{group}/offsets/", body, format="json")


def _event(record: AuditRecord) -> tuple[str, dict]:
    name, request = record.document["data"]["event"]
    return name, request


def test_it_lists_groups_with_state_members_topics_and_lag(api, cluster, topic, group):
    response = api.get(BASE, {"q": group})
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"group_id": group, "state": "Empty", "members": 0, "topics": [topic], "lag": 5}
        ]
    }


def test_it_sorts_by_lag_and_searches_in_any_case(api, cluster, topic):
    prefix = new_group("sort")
    for name, at in ((f"{prefix}-a", 4), (f"{prefix}-b", 0), (f"{prefix}-c", 2)):
        commit(cluster, name, {(topic, 0): at})
    by_lag = api.get(BASE, {"q": prefix.upper(), "sort": "lag"}).json()["results"]
    assert [(g["group_id"][-1], g["lag"]) for g in by_lag] == [("b", 5), ("c", 3), ("a", 1)]
    by_id = api.get(BASE, {"q": prefix}).json()["results"]
    assert [g["group_id"][-1] for g in by_id] == ["a", "b", "c"]


def test_a_group_shows_its_offsets_per_partition(api, cluster, topic, group):
    response = api.get(f"{BASE}{group}/")
    assert response.status_code == 200
    assert response.json() == {
        "group_id": group,
        "state": "Empty",
        "members": [],
        "offsets": [
            {"topic": topic, "partition": 0, "committed": 2, "end": 5, "lag": 3},
            {"topic": topic, "partition": 1, "committed": 1, "end": 3, "lag": 2},
        ],
    }


def test_a_live_group_shows_its_member(api, cluster, topic):
    name = new_group()
    commit(cluster, name, {(topic, 0): 0})
    with member(cluster, name, topic):
        body = api.get(f"{BASE}{name}/").json()
    [one] = body["members"]
    assert body["state"] == "Stable"
    assert set(one) == {"member_id", "client_id", "host"} and one["member_id"]


def test_an_unknown_group_is_a_404(api, cluster):
    response = api.get(f"{BASE}{new_group('nobody')}/")
    assert (response.status_code, response.json()["error"]) == (404, "unknown_group")


def test_looking_needs_only_an_authorized_role(personas, cluster, group):
    mallory = APIClient()
    mallory.force_authenticate(personas["mallory"])
    assert mallory.get(BASE).status_code == 403
    assert mallory.get(f"{BASE}{group}/").status_code == 403


def test_a_reset_is_a_dry_run_by_default_and_moves_nothing(api, allow, cluster, topic, group):
    allow(EDIT)
    before = AuditRecord.objects.count()
    response = _reset(api, group, topic=topic, to="earliest")
    assert response.status_code == 200, response.json()
    body = response.json()
    changes = [
        {"topic": topic, "partition": 0, "from": 2, "to": 0},
        {"topic": topic, "partition": 1, "from": 1, "to": 0},
    ]
    assert (body["dry_run"], body["changes"]) == (True, changes)
    assert committed(cluster, group) == {(topic, 0): 2, (topic, 1): 1}
    assert AuditRecord.objects.count() == before + 1
    record = AuditRecord.objects.get(id=body["audit_record"])
    event, request = _event(record)
    assert (event, record.document["type"]) == ("query/preview-group-offsets", "query/request")
    assert record.document["data"]["rbac"]["action"] == "GROUP_EDIT"
    assert (request["group-id"], request["dry-run"], request["changes"]) == (group, True, changes)
    assert (record.cluster_id, record.resource_name) == ("flex-test", group)


def test_an_applied_reset_moves_the_offsets_and_keeps_the_plan(api, allow, cluster, topic, group):
    allow(EDIT)
    response = _reset(api, group, topic=topic, partitions=[0], to="shift", value=2, dry_run=False)
    assert response.status_code == 200, response.json()
    changes = [{"topic": topic, "partition": 0, "from": 2, "to": 4}]
    assert response.json()["dry_run"] is False and response.json()["changes"] == changes
    assert committed(cluster, group) == {(topic, 0): 4, (topic, 1): 1}
    record = last_record()
    event, request = _event(record)
    assert (event, record.document["type"]) == ("mutation/reset-group-offsets", "mutation/request")
    assert (request["to"], request["value"], request["partitions"]) == ("shift", 2, [0])
    assert request["changes"] == changes and record.outcome == AuditRecord.SUCCEEDED


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_reset_without_group_edit_is_denied_and_recorded(
    api, allow, cluster, topic, group, dry_run
):
    allow(["TOPIC_INSPECT", "GROUP_DELETE"])
    before = AuditRecord.objects.count()
    response = _reset(api, group, topic=topic, to="latest", dry_run=dry_run)
    assert (response.status_code, response.json()["error"]) == (403, "denied")
    assert AuditRecord.objects.count() == before + 1
    record = last_record()
    assert record.outcome == AuditRecord.DENIED
    assert _event(record)[1]["changes"] == []
    assert committed(cluster, group) == {(topic, 0): 2, (topic, 1): 1}


def test_a_group_glob_policy_decides_by_group_id(api, allow, cluster, topic):
    allow(EDIT, resource=["cluster", "*", "group", "team-*"])
    mine, other = new_group("team"), new_group("other")
    for name in (mine, other):
        commit(cluster, name, {(topic, 0): 1})
    assert _reset(api, mine, topic=topic, to="latest").status_code == 200
    assert _reset(api, other, topic=topic, to="latest").status_code == 403


def test_an_active_group_is_refused_with_409_and_recorded(api, allow, cluster, topic, group):
    allow([*EDIT, *DELETE])
    with member(cluster, group, topic):
        before = AuditRecord.objects.count()
        for response in (
            _reset(api, group, topic=topic, to="earliest"),
            _reset(api, group, topic=topic, to="earliest", dry_run=False),
            api.delete(f"{BASE}{group}/"),
        ):
            assert (response.status_code, response.json()["error"]) == (409, "group_active")
        assert AuditRecord.objects.count() == before + 3
        assert last_record().outcome == AuditRecord.FAILED
    assert committed(cluster, group) == {(topic, 0): 2, (topic, 1): 1}


BAD_RESETS = {
    "no-topic": {"to": "earliest"},
    "bad-mode": {"topic": "t", "to": "sideways"},
    "offset-without-value": {"topic": "t", "to": "offset"},
    "negative-offset": {"topic": "t", "to": "offset", "value": -1},
    "huge-offset": {"topic": "t", "to": "offset", "value": 2**64},
    "float-shift": {"topic": "t", "to": "shift", "value": 1.5},
    "partitions-not-a-list": {"topic": "t", "to": "earliest", "partitions": "0"},
    "negative-partition": {"topic": "t", "to": "earliest", "partitions": [-1]},
    "dry-run-not-a-boolean": {"topic": "t", "to": "earliest", "dry_run": "no"},
}


@pytest.mark.parametrize("body", BAD_RESETS.values(), ids=BAD_RESETS.keys())
def test_bad_reset_input_is_a_recorded_400(api, allow, cluster, topic, group, body):
    allow(EDIT)
    before = AuditRecord.objects.count()
    response = _reset(api, group, **body)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert AuditRecord.objects.count() == before + 1
    assert last_record().outcome == AuditRecord.FAILED
    assert committed(cluster, group) == {(topic, 0): 2, (topic, 1): 1}


def test_resetting_on_an_unknown_topic_is_a_recorded_404(api, allow, cluster, topic, group):
    allow(EDIT)
    response = _reset(api, group, topic=topic + "-missing", to="earliest")
    assert (response.status_code, response.json()["error"]) == (404, "unknown_topic")
    assert last_record().outcome == AuditRecord.FAILED


def test_deleting_answers_204_and_the_record_keeps_the_offsets(api, allow, cluster, topic, group):
    allow(DELETE)
    response = api.delete(f"{BASE}{group}/")
    assert response.status_code == 204
    record = AuditRecord.objects.get(id=response["Flex-Audit-Record"])
    event, request = _event(record)
    assert (event, record.document["data"]["rbac"]["action"]) == (
        "mutation/delete-group",
        "GROUP_DELETE",
    )
    assert request["changes"] == [
        {"topic": topic, "partition": 0, "from": 2, "to": None},
        {"topic": topic, "partition": 1, "from": 1, "to": None},
    ]
    assert group not in {g.group_id for g in kafka_client.list_groups(cluster)}


def test_deleting_an_unknown_group_is_a_recorded_404(api, allow, cluster):
    allow(DELETE)
    before = AuditRecord.objects.count()
    response = api.delete(f"{BASE}{new_group('nobody')}/")
    assert (response.status_code, response.json()["error"]) == (404, "unknown_group")
    assert AuditRecord.objects.count() == before + 1


def test_deleting_without_group_delete_is_denied_and_recorded(api, allow, cluster, topic, group):
    allow(EDIT)
    before = AuditRecord.objects.count()
    assert api.delete(f"{BASE}{group}/").status_code == 403
    assert AuditRecord.objects.count() == before + 1
    assert last_record().outcome == AuditRecord.DENIED
    assert group in {g.group_id for g in kafka_client.list_groups(cluster)}


def test_the_schema_documents_the_group_endpoints(api, cluster):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert {"get", "delete"} <= set(paths["/api/clusters/{cluster}/groups/{group}/"])
    assert "post" in paths["/api/clusters/{cluster}/groups/{group}/offsets/"]
    assert "get" in paths["/api/clusters/{cluster}/groups/"]
