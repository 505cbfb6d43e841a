"""The records of a request for approval reach Slack and the webhook like any record
(a real Celery worker, the loopback Slack and webhook stand-ins)."""

from __future__ import annotations

from tests.audit.test_delivery import all_delivered, hits_for
from tests.conftest import wait_until

from .conftest import BASE, records_of


def test_the_request_and_its_decision_reach_slack_and_the_webhook(
    sinks, api, staging, cluster, new_name, slack_stub, hook_stub
):
    body = {"name": new_name(), "partitions": 1, "replication_factor": 1}
    staged = api("bob").post(BASE, body, format="json").json()
    answer = api("alice").post(f"/api/approvals/{staged['approval']}/approve")
    assert answer.json()["status"] == "succeeded"
    records = records_of(staged["approval"])
    assert [r.outcome for r in records] == ["staged", "succeeded", "succeeded"]
    wait_until(lambda: all(all_delivered(records, sink) for sink in ("slack", "webhook")), 30)
    hooked = {document["id"]: document for document in hook_stub.documents}
    for record in records:
        assert hooked[str(record.pk)]["ctx"]["correlation-id"] == staged["approval"]
        assert len(hits_for(slack_stub, record)) == 1
    message = hits_for(slack_stub, records[0])[0].message
    assert message["text"].startswith(":hourglass_flowing_sand:") and "*staged*" in message["text"]
