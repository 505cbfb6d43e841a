from __future__ import annotations

import time

import pytest

from tests.conftest import Broker


def test_it_answers_200_with_the_cluster_id(client, kafka):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["kafka"]["cluster_id"] == "flex-test"
    assert body["database"]["ok"] is True
    assert body["queue"] == {"ok": True, "mode": "celery"}


@pytest.fixture
def own_broker(settings, tmp_path, db):
    """A broker of this test's own, so stopping it leaves the session broker alone."""
    from topics import kafka

    broker = Broker(tmp_path / "tansu.log")
    broker.start()
    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    kafka.reset_clients()
    yield broker
    broker.stop()
    kafka.reset_clients()


def test_it_names_kafka_within_5_s_when_the_broker_dies_and_recovers(client, own_broker):
    assert client.get("/healthz").status_code == 200
    own_broker.stop()
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["failing"] == ["kafka"]
    assert elapsed < 5
    own_broker.start()
    deadline = time.monotonic() + 10
    while client.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, "healthz did not recover after the broker restarted"
        time.sleep(0.2)


def test_it_names_the_queue_when_redis_is_unreachable(client, kafka, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["queue"]
