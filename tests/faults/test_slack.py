"""Slack answering 500, 429 with Retry-After, and hanging: Kafka and the requests never wait
for it, and every record still reaches Slack (at least once, always with its own id)."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from audit.models import AuditRecord, Delivery
from tests.faults.conftest import finish, slack_ids, wait_delivered

pytestmark = pytest.mark.faults


def test_slack_failing_throttling_and_hanging_delays_only_slack(stack, slack, actor, ledger):
    stack.start()
    slack.script(
        slack.server_error(),
        slack.server_error(),
        slack.rate_limited(2),
        slack.hang(8),  # longer than FLEX_AUDIT_SINK_TIMEOUT (5 s): the client gives up
        slack.server_error(),
        slack.rate_limited(1),
        slack.hang(8),
    )
    actor.mixed(45)
    # Kafka is not held up by a sink that fails, throttles and hangs.
    started = time.monotonic()
    finish(ledger, stack, started)
    assert ledger.figures["recovery_s"] < 10

    wait_delivered("slack", stack, 90)
    ledger.figures["slack_s"] = round(time.monotonic() - started, 1)
    ids = {str(pk) for pk in AuditRecord.objects.values_list("pk", flat=True)}
    accepted = Counter(slack_ids(slack))
    assert set(accepted) == ids  # every record, each message carrying its own record's id
    ledger.figures["slack_hits"] = len(slack.hits)
    ledger.figures["slack_duplicates"] = sum(accepted.values()) - len(accepted)
    assert not Delivery.objects.filter(status=Delivery.FAILED).exists()
    statuses = Counter(hit.response.status for hit in slack.hits)
    assert statuses[500] == 3 and statuses[429] == 2
    ledger.report()
