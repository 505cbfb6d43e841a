"""Topic pages, the API, /healthz and the audit mirror against a broker that speaks only TLS."""

from __future__ import annotations

import json
import time

import pytest

from audit import outbox
from audit.models import AuditRecord, Delivery
from topics import kafka

from .conftest import create_topic_through_the_api, point_at

AUDIT_TOPIC = "__oprtr_audit_log"


def test_the_topic_list_page_and_api_show_a_topic_created_over_tls(
    client, over_tls, bob, allow, new_name
):
    allow(["TOPIC_CREATE"])
    name = new_name()
    created = create_topic_through_the_api(client, over_tls.key, name)
    assert created.status_code == 201, created.json()
    listed = client.get(f"/api/clusters/{over_tls.key}/topics/", {"q": name})
    assert listed.status_code == 200
    assert [row["name"] for row in listed.json()] == [name]
    page = client.get(f"/clusters/{over_tls.key}/topics/", {"q": name})
    assert page.status_code == 200
    assert name in page.content.decode()


# /healthz asks Kafka from a thread of its own, on its own database connection: those tests
# commit (transactional_db), so that connection sees the primary cluster as the test set it.


def test_healthz_reaches_the_cluster_over_tls(client, transactional_db, over_tls):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["kafka"]["cluster_id"] == "flex-tls"


@pytest.mark.parametrize(
    ("protocol", "why"),
    [("SSL", "Flex does not trust the broker's CA"), ("PLAINTEXT", "Flex does not speak TLS")],
)
def test_healthz_names_kafka_within_the_timeout_when_tls_cannot_work(
    client, settings, tls_broker, transactional_db, protocol, why
):
    point_at(settings, tls_broker, protocol)  # no KAFKA_SSL_CAFILE
    settings.KAFKA_TIMEOUT_MS = 1000
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503, why
    assert response.json()["failing"] == ["kafka"]
    assert elapsed < settings.KAFKA_TIMEOUT_MS / 1000 + 1.5, f"{why}: {elapsed:.1f} s"


def test_the_audit_mirror_delivers_to_the_audit_topic_over_tls(
    client, settings, over_tls, bob, allow, new_name
):
    settings.FLEX_AUDIT_TOPIC = AUDIT_TOPIC
    allow(["TOPIC_CREATE"])
    created = create_topic_through_the_api(client, over_tls.key, new_name())
    record = AuditRecord.objects.get(id=created.json()["audit_record"])
    outbox.drain("kafka", deadline=time.monotonic() + 10)
    row = Delivery.objects.get(record=record, sink="kafka")
    assert row.status == Delivery.DELIVERED, row.last_error
    query = kafka.ReadQuery(mode="offset", offset=0, limit=500)
    on_topic = {
        m.key.decode(): json.loads(m.value)
        for m in kafka.read_messages(over_tls, AUDIT_TOPIC, query).messages
    }
    assert on_topic[str(record.pk)] == record.document
    assert record.document["ctx"]["cluster-id"] == "flex-tls"
