"""A TLS proxy that demands a client certificate: Flex presents KAFKA_SSL_CERTFILE/KEYFILE."""

from __future__ import annotations

from topics import kafka
from topics.models import primary_cluster

from .conftest import point_at

# These tests ask /healthz, which asks Kafka from a thread on its own database connection: they
# commit (transactional_db), so that connection sees the primary cluster as the test set it.


def test_without_a_client_certificate_flex_reports_cluster_unavailable(
    client, transactional_db, settings, mtls_broker, bob, allow
):
    point_at(settings, mtls_broker, KAFKA_SSL_CAFILE=str(mtls_broker.pki.ca))
    settings.KAFKA_TIMEOUT_MS = 1000
    key = primary_cluster().key
    api = client.get(f"/api/clusters/{key}/topics/")
    assert api.status_code == 503
    assert api.json()["error"] == "cluster_unavailable"
    assert "unreachable" in api.json()["detail"]
    page = client.get(f"/clusters/{key}/topics/")
    assert page.status_code == 503
    assert "unreachable" in page.content.decode()
    health = client.get("/healthz")
    assert (health.status_code, health.json()["failing"]) == (503, ["kafka"])


def test_with_a_client_certificate_flex_lists_topics_and_is_healthy(
    client, transactional_db, settings, mtls_broker, bob, allow, new_name
):
    pki = mtls_broker.pki
    point_at(
        settings,
        mtls_broker,
        KAFKA_SSL_CAFILE=str(pki.ca),
        KAFKA_SSL_CERTFILE=str(pki.client_cert),
        KAFKA_SSL_KEYFILE=str(pki.client_key),
    )
    cluster = primary_cluster()
    kafka.describe_cluster(cluster)
    cluster.refresh_from_db()
    assert cluster.key == "flex-mtls"
    name = new_name("mtls")
    kafka.create_topic(cluster, name=name, partitions=1, replication_factor=1, configs={})
    api = client.get(f"/api/clusters/{cluster.key}/topics/", {"q": name})
    assert (api.status_code, [row["name"] for row in api.json()]) == (200, [name])
    page = client.get(f"/clusters/{cluster.key}/topics/", {"q": name})
    assert page.status_code == 200 and name in page.content.decode()
    health = client.get("/healthz")
    assert health.status_code == 200, health.json()
