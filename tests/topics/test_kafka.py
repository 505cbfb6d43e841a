from __future__ import annotations

import time

import pytest

from topics import kafka as kafka_client
from topics.models import Cluster, primary_cluster


def test_it_discovers_and_stores_the_cluster_id(kafka):
    cluster = primary_cluster()
    info = kafka_client.describe_cluster(cluster)
    assert info["cluster_id"] == "flex-test"
    assert Cluster.objects.get(pk=cluster.pk).kafka_cluster_id == "flex-test"


def test_it_reuses_one_admin_client_per_cluster(kafka):
    cluster = primary_cluster()
    with kafka_client.admin(cluster) as first:
        pass
    with kafka_client.admin(cluster) as second:
        pass
    assert first is second


def test_a_dead_broker_gives_an_error_within_seconds(db, settings):
    cluster = Cluster.objects.create(name="nowhere", bootstrap_servers="127.0.0.1:1")
    started = time.monotonic()
    with pytest.raises(kafka_client.ClusterUnavailable) as info:
        kafka_client.describe_cluster(cluster)
    assert time.monotonic() - started < settings.KAFKA_TIMEOUT_MS / 1000 + 2
    assert "nowhere is unreachable" in info.value.message


def test_primary_cluster_follows_the_environment(db, settings):
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:9999"
    assert primary_cluster().bootstrap_servers == "127.0.0.1:9999"
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:9998"
    cluster = primary_cluster()
    assert cluster.bootstrap_servers == "127.0.0.1:9998"
    assert Cluster.objects.filter(is_primary=True).count() == 1


def test_it_reconnects_after_a_broker_restart(kafka):
    cluster = primary_cluster()
    assert kafka_client.describe_cluster(cluster)["cluster_id"] == "flex-test"
    kafka.restart()
    deadline = time.monotonic() + 10
    while True:
        try:
            assert kafka_client.describe_cluster(cluster)["cluster_id"] == "flex-test"
            break
        except kafka_client.ClusterUnavailable:
            assert time.monotonic() < deadline, "no reconnect within 10 s"
            time.sleep(0.2)
