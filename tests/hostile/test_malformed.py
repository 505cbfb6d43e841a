"""Malformed bodies still leave their record: nested too deep, lone surrogates."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditRecord
from tests.hostile.support import latest_offsets
from topics import kafka as kafka_client

DECIDE = "/api/rbac/decide"


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _one_failed_record(before: int) -> AuditRecord:
    assert AuditRecord.objects.count() == before + 1
    record = AuditRecord.objects.order_by("-ts", "-id").first()
    assert record.outcome == AuditRecord.FAILED
    return record


@pytest.mark.parametrize("depth", [65, 300, 800, 5000, 100_000])
def test_a_body_nested_too_deep_is_a_recorded_400_on_the_decide_api(personas, depth):
    before = AuditRecord.objects.count()
    body = "[" * depth + "]" * depth
    response = _api(personas["alice"]).post(DECIDE, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]
    record = _one_failed_record(before)
    assert record.event == "query/simulate-policy"


def test_a_deeply_nested_object_on_the_produce_api_is_a_recorded_400(bob_api, topic_url):
    before = AuditRecord.objects.count()
    body = '{"value": ' + '{"a": ' * 400 + "1" + "}" * 400 + "}"
    response = bob_api.post(topic_url, body, content_type="application/json")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert _one_failed_record(before).event == "mutation/produce"


LONE_SURROGATES = {
    "value": '{"value": "\\ud800"}',
    "key": '{"key": "\\udfff", "value": "v"}',
    "header-value": '{"value": "v", "headers": {"h": "a\\ud800b"}}',
    "header-name": '{"value": "v", "headers": {"\\ud800": "v"}}',
}


@pytest.mark.parametrize("body", LONE_SURROGATES.values(), ids=LONE_SURROGATES.keys())
def test_a_lone_surrogate_on_the_produce_api_is_a_recorded_400(
    bob_api, topic_url, cluster, topic, body
):
    before_offsets = latest_offsets(cluster, topic)
    before = AuditRecord.objects.count()
    response = bob_api.post(topic_url, body, content_type="application/json")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert "surrogate" in response.json()["detail"]
    record = _one_failed_record(before)
    assert record.event == "mutation/produce"
    assert str(record.id) == response.json()["audit_record"]
    assert latest_offsets(cluster, topic) == before_offsets


@pytest.fixture
def topic(planted) -> str:
    return planted()


@pytest.fixture
def topic_url(cluster, topic) -> str:
    return f"/api/clusters/{cluster.key}/topics/{topic}/messages/"


@pytest.fixture
def bob_api(personas, grant) -> APIClient:
    grant(["TOPIC_PRODUCE"])
    return _api(personas["bob"])


def test_a_valid_message_beside_them_goes_through(bob_api, topic_url, cluster, topic):
    response = bob_api.post(topic_url, '{"value": "fine"}', content_type="application/json")
    assert response.status_code == 201, response.json()
    read = kafka_client.read_messages(cluster, topic, kafka_client.ReadQuery())
    assert [m.value for m in read.messages] == [b"fine"]
