"""The Celery worker killed with SIGKILL in the middle of a batch, then started again.

The batch is caught mid-way on both sinks: Slack answers slowly (a batch of ten takes a
second), and the broker is frozen (SIGSTOP) while the worker waits for Kafka's
acknowledgements. The rows the dead worker had claimed come back when their lease
(FLEX_AUDIT_LEASE_SECONDS, 15 s here) ends.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditRecord, Delivery
from tests.conftest import wait_until
from tests.faults.conftest import (
    LEASE_SECONDS,
    all_delivered,
    finish,
    slack_ids,
    wait_delivered,
)

pytestmark = pytest.mark.faults


def leased(sink: str) -> int:
    """Rows a worker has claimed and not settled: pending, due only after the lease."""
    later = timezone.now() + timedelta(seconds=LEASE_SECONDS / 2)
    rows = Delivery.objects.filter(sink=sink, status=Delivery.PENDING, next_attempt_at__gt=later)
    return rows.count()


def test_a_worker_killed_mid_batch_loses_nothing(stack, slack, actor, ledger):
    slack.default = slack.hang(0.1)  # answers "ok", slowly
    stack.start()
    actor.mixed(3)
    wait_until(lambda: all_delivered("kafka") and all_delivered("slack"), 20, step=0.1)

    os.kill(stack.broker.process.pid, signal.SIGSTOP)  # Kafka stops answering mid-batch
    try:
        for _ in range(45):
            actor.delete()  # denied: no Kafka call of its own, so the request is quick
        wait_until(lambda: leased("kafka") and leased("slack"), 15, step=0.02)
        stack.worker.kill()
    finally:
        os.kill(stack.broker.process.pid, signal.SIGCONT)
    killed = time.monotonic()
    ledger.figures["leased_kafka"] = leased("kafka")
    ledger.figures["leased_slack"] = leased("slack")
    assert ledger.figures["leased_kafka"] and ledger.figures["leased_slack"]

    stack.restart_worker()
    finish(ledger, stack, killed)
    wait_delivered("slack", stack, 60)
    ids = {str(pk) for pk in AuditRecord.objects.values_list("pk", flat=True)}
    accepted = Counter(slack_ids(slack))
    assert set(accepted) == ids
    ledger.figures["slack_duplicates"] = sum(accepted.values()) - len(accepted)
    ledger.report()
