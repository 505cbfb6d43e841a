"""Flex's own audit topic is Flex's: nobody writes to it through Flex, and only auditors read it."""

from __future__ import annotations

import contextlib

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditRecord
from topics import kafka as kafka_client

from .conftest import last_record

API = "/api/clusters/flex-test/topics/{}"


@pytest.fixture
def audit_topic(cluster, settings) -> str:
    """The audit topic exists on the broker, with one message in it. A topic of these tests'
    own: the session's real audit topic is read by the delivery tests, record by record."""
    settings.FLEX_AUDIT_TOPIC = name = "__oprtr_audit_log_protected"
    with contextlib.suppress(kafka_client.TopicExists):
        kafka_client.create_topic(
            cluster, name=name, partitions=1, replication_factor=1, configs={}
        )
    kafka_client.produce(cluster, name, key=b"k", value=b'{"id": "x"}', headers=[])
    return name


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _assert_protected(response, before: int) -> AuditRecord:
    assert (response.status_code, response.json()["error"]) == (403, "protected_topic")
    assert AuditRecord.objects.count() == before + 1
    record = last_record()
    assert record.outcome == AuditRecord.DENIED
    assert str(record.id) == response.json()["audit_record"]
    assert "audit topic" in record.document["data"]["response"]["error"]
    return record


WRITES = {
    "produce": ("post", "/messages/", {"value": "forged record"}),
    "edit-configs": ("patch", "/configs/", {"set": {"retention.ms": "1"}}),
    "truncate": ("post", "/truncate/", None),
    "delete": ("delete", "/", None),
}


@pytest.mark.parametrize("kind", WRITES, ids=WRITES.keys())
def test_nobody_writes_to_the_audit_topic_whatever_the_policies_say(
    kind, personas, allow, audit_topic, cluster
):
    allow(roles=["*"])  # every action, every topic, everyone
    method, path, body = WRITES[kind]
    before_offsets = kafka_client.describe_topic(cluster, audit_topic).messages
    for login in ("bob", "alice", "carol"):
        before = AuditRecord.objects.count()
        client = _api(personas[login])
        response = getattr(client, method)(API.format(audit_topic) + path, body, format="json")
        record = _assert_protected(response, before)
        assert record.login == login
    assert kafka_client.describe_topic(cluster, audit_topic).messages == before_offsets


def test_a_member_cannot_read_the_audit_topic_even_with_a_policy(personas, allow, audit_topic):
    allow(["TOPIC_INSPECT"], roles=["*"])
    before = AuditRecord.objects.count()
    response = _api(personas["bob"]).get(API.format(audit_topic) + "/messages/")
    record = _assert_protected(response, before)
    assert "auditor" in record.document["data"]["response"]["error"]


def test_an_auditor_with_a_policy_reads_the_audit_topic(personas, allow, audit_topic):
    allow(["TOPIC_INSPECT"], roles=["*"])
    response = _api(personas["carol"]).get(API.format(audit_topic) + "/messages/")
    assert response.status_code == 200, response.json()
    assert any(m["value"]["text"] for m in response.json()["messages"])
    assert last_record().outcome == AuditRecord.SUCCEEDED


def test_an_auditor_still_needs_a_policy(personas, allow, audit_topic):
    allow(["TOPIC_PRODUCE"], roles=["*"])
    response = _api(personas["carol"]).get(API.format(audit_topic) + "/messages/")
    assert (response.status_code, response.json()["error"]) == (403, "denied")


def test_the_produce_page_refuses_the_audit_topic_and_disables_its_controls(
    personas, allow, audit_topic
):
    allow(roles=["*"])
    client = Client()
    client.force_login(personas["bob"])
    url = reverse("topic-produce", kwargs={"cluster": "flex-test", "topic": audit_topic})
    page = client.get(url)
    assert page.status_code == 200
    assert not page.context["can"]["produce"]
    response = client.post(url, {"key": "", "value": "forged", "headers": "", "partition": ""})
    assert response.status_code == 403
    assert response.context["outcome"].code == "protected_topic"
    assert last_record().outcome == AuditRecord.DENIED


def test_the_audit_topic_stays_listed_with_internal_topics(personas, audit_topic):
    client = _api(personas["bob"])
    shown = {t["name"] for t in client.get(API.format("").rstrip("/") + "?internal=1").json()}
    hidden = {t["name"] for t in client.get(API.format("").rstrip("/")).json()}
    assert audit_topic in shown
    assert audit_topic not in hidden
