"""The Kafka broker stopped (SIGKILL) and started again, empty, while people keep acting."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from audit.models import DeliveryAttempt
from tests.conftest import wait_until
from tests.faults.conftest import all_delivered, crash, finish, read_audit_topic

pytestmark = pytest.mark.faults


def test_a_broker_crash_and_restart_under_load_loses_nothing(stack, actor, ledger):
    from kafka import KafkaAdminClient

    stack.start()
    actor.mixed(15)
    wait_until(lambda: all_delivered("kafka"), 30, step=0.2)
    before = {a.record_id for a in ledger.actions}
    # Tansu keeps messages in memory: read what reached it before it goes away.
    earlier = read_audit_topic(stack.broker.bootstrap, before)

    crash(stack.broker)
    outage = actor.for_seconds(8)
    down = ledger.actions[-outage:]
    creates = [a for a in down if a.kind == "create"]
    assert creates and all(a.status == "failed" for a in creates)  # the cluster is unreachable
    assert all(a.status == "denied" for a in down if a.kind == "delete")
    wait_until(
        lambda: DeliveryAttempt.objects.filter(sink="kafka", delivered=0).exclude(error=""), 15
    )

    stack.broker.start()  # the same port, empty
    recovered = time.monotonic()
    actor.mixed(15)
    ledger.figures["during_outage"] = outage
    finish(ledger, stack, recovered, earlier)

    admin = KafkaAdminClient(bootstrap_servers=stack.broker.bootstrap)
    try:
        (topic,) = admin.describe_topics([settings.FLEX_AUDIT_TOPIC])
    finally:
        admin.close()
    assert len(topic["partitions"]) == settings.FLEX_AUDIT_TOPIC_PARTITIONS  # made by Flex again
    ledger.report()
