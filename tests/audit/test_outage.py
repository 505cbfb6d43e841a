"""Zero loss across a broker outage: a broker and a worker of this test's own, so the
session broker is not disturbed."""

from __future__ import annotations

import time

import pytest

from audit.models import Delivery, DeliveryAttempt
from tests.audit.conftest import act, allow, start_worker, topic_ids
from tests.conftest import Broker, wait_until
from topics import audit_sink


@pytest.fixture
def own_broker(tmp_path, settings):
    broker = Broker(tmp_path / "tansu.log")
    broker.start()
    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    settings.SLACK_WEBHOOK_URL = None
    settings.WEBHOOK_URL = None
    audit_sink.reset_producer()
    yield broker
    broker.stop()
    audit_sink.reset_producer()


@pytest.fixture
def own_worker(transactional_db, own_broker, tmp_path):
    worker = start_worker(
        tmp_path / "celery.log",
        KAFKA_BOOTSTRAP_SERVERS=own_broker.bootstrap,
        FLEX_KAFKA_TIMEOUT_MS="1500",
    )
    yield worker
    worker.stop()


def kafka_delivered(records) -> int:
    pks = [r.pk for r in records]
    return Delivery.objects.filter(record_id__in=pks, sink="kafka", status="delivered").count()


def test_200_actions_while_the_broker_is_down_all_reach_the_topic_after_it_restarts(
    own_broker, own_worker, settings
):
    from kafka import KafkaAdminClient

    allow(["TOPIC_CREATE"])
    warm = act(1)
    wait_until(lambda: kafka_delivered(warm) == 1, 15)

    own_broker.stop()
    started = time.monotonic()
    records = act(200)
    took = time.monotonic() - started
    assert took < 20, f"200 actions took {took:.1f} s with the broker down"
    # Every record has been tried, and failed, before the broker comes back.
    tried = Delivery.objects.filter(record_id__in=[r.pk for r in records], sink="kafka")
    wait_until(lambda: not tried.filter(attempts=0).exists(), 30, step=0.5)
    assert kafka_delivered(records) == 0
    assert DeliveryAttempt.objects.filter(sink="kafka", delivered=0).exclude(error="").exists()

    own_broker.start()  # it comes back empty, on the same port
    wait_until(lambda: kafka_delivered(records) == 200, 60, step=0.5)

    ids = {str(r.pk) for r in records}
    assert ids <= topic_ids(own_broker.bootstrap, want=ids, timeout=10)
    admin = KafkaAdminClient(bootstrap_servers=own_broker.bootstrap)
    try:
        (topic,) = admin.describe_topics([settings.FLEX_AUDIT_TOPIC])
    finally:
        admin.close()
    assert len(topic["partitions"]) == 3  # created again by Flex, not auto-created
