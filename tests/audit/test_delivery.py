"""Delivery through the outbox: a real Celery worker, Tansu, and Slack and webhook stand-ins."""

from __future__ import annotations

import json
import socket
import time

import pytest
from django.conf import settings as django_settings

from audit import gate, outbox, scheduling, verification
from audit.models import AuditRecord, Delivery, DeliveryAttempt
from tests.audit.conftest import (
    CLUSTER_ID,
    JOHN,
    act,
    allow,
    create_topic_op,
    ctx,
    read_topic,
    topic_ids,
)
from tests.conftest import wait_until
from topics import audit_sink
from topics.models import Cluster

SECRET = "s3cr3t-for-the-sinks"


def delivered(record: AuditRecord, sink: str) -> Delivery | None:
    row = Delivery.objects.get(record=record, sink=sink)
    return row if row.status != Delivery.PENDING else None


def all_delivered(records: list[AuditRecord], sink: str) -> bool:
    pks = [r.pk for r in records]
    rows = Delivery.objects.filter(record_id__in=pks, sink=sink)
    return rows.filter(status=Delivery.DELIVERED).count() == len(pks)


def hits_for(slack, record: AuditRecord) -> list:
    return [h for h in list(slack.hits) if str(record.pk) in h.request.body.decode()]


# In the test process (no worker) --------------------------------------------------------


def test_a_drain_delivers_a_batch_to_the_topic(policies, broker, settings):
    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    audit_sink.reset_producer()
    records = act(3)
    assert scheduling.run("kafka") == 3
    assert all_delivered(records, "kafka")
    on_topic = {
        m.key.decode(): json.loads(m.value)
        for m in read_topic(broker.bootstrap, want={str(r.pk) for r in records})
    }
    for record in records:
        assert on_topic[str(record.pk)] == record.document
    attempt = DeliveryAttempt.objects.get(sink="kafka")
    assert attempt.delivered == 3 and attempt.error == ""


def test_the_topic_is_created_with_flexs_partitions_and_retention(db, broker, settings):
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource

    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    settings.FLEX_AUDIT_TOPIC = "audit-topic-settings-test"
    audit_sink.ensure_topic()
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        (topic,) = admin.describe_topics([settings.FLEX_AUDIT_TOPIC])
        configs = admin.describe_configs(
            [ConfigResource("TOPIC", settings.FLEX_AUDIT_TOPIC)], config_filter="all"
        )["topic"][settings.FLEX_AUDIT_TOPIC]
    finally:
        admin.close()
    assert len(topic["partitions"]) == settings.FLEX_AUDIT_TOPIC_PARTITIONS == 3
    assert configs["cleanup.policy"]["value"] == "delete"
    assert configs["retention.ms"]["value"] == str(30 * 24 * 3600 * 1000)


def test_a_down_broker_is_a_retryable_failure_with_backoff(policies, settings):
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"
    settings.KAFKA_TIMEOUT_MS = 300
    audit_sink.reset_producer()
    (record,) = act(1)
    scheduling.run("kafka")
    row = Delivery.objects.get(record=record, sink="kafka")
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error.startswith("Kafka:")
    assert row.next_attempt_at > row.last_attempt_at
    audit_sink.reset_producer()


def test_slack_takes_mutations_only_by_default(policies, settings):
    settings.SLACK_WEBHOOK_URL = "http://127.0.0.1:9/slack"
    gate.record_event(actor=JOHN, type="query/request", event="query/x", request={}, ctx=ctx())
    gate.record_event(actor=JOHN, type="auth/login", event="auth/login", request={}, ctx=ctx())
    act(1)
    slack_rows = Delivery.objects.filter(sink="slack").values_list("record__type", flat=True)
    assert list(slack_rows) == ["mutation/request"]


@pytest.mark.parametrize(
    ("verbosity", "types"),
    [("QUERIES", {"mutation/request", "query/request"}), ("ALL", {"mutation", "query", "auth"})],
)
def test_slack_verbosity_widens_what_is_sent(policies, settings, verbosity, types):
    settings.SLACK_WEBHOOK_URL = "http://127.0.0.1:9/slack"
    settings.SLACK_WEBHOOK_VERBOSITY = verbosity
    gate.record_event(actor=JOHN, type="query/request", event="query/x", request={}, ctx=ctx())
    gate.record_event(actor=JOHN, type="auth/login", event="auth/login", request={}, ctx=ctx())
    act(1)
    sent = set(Delivery.objects.filter(sink="slack").values_list("record__type", flat=True))
    if verbosity == "ALL":
        sent = {t.split("/")[0] for t in sent}
    assert sent == types


def test_state_for_lists_each_sink_of_each_record(policies, settings):
    settings.SLACK_WEBHOOK_URL = "http://127.0.0.1:9/slack"
    (record,) = act(1)
    state = outbox.state_for([record.pk])[record.pk]
    assert [(s["sink"], s["status"], s["attempts"]) for s in state] == [
        ("kafka", "pending", 0),
        ("slack", "pending", 0),
    ]


# With a Celery worker -------------------------------------------------------------------


@pytest.fixture
def allowed(sinks) -> None:
    allow(["TOPIC_CREATE", "TOPIC_EDIT"])
    Cluster.objects.create(name="prod", bootstrap_servers="prod:9092", kafka_cluster_id=CLUSTER_ID)


def test_each_record_reaches_every_sink_once_carrying_its_id(
    allowed, broker, slack_stub, hook_stub
):
    records = act(5)
    wait_until(lambda: all(all_delivered(records, s) for s in ("kafka", "slack", "webhook")), 20)
    ids = {str(r.pk) for r in records}
    assert ids <= topic_ids(broker.bootstrap, want=ids)
    assert sorted(d["id"] for d in hook_stub.documents) == sorted(str(r.pk) for r in records)
    assert len(slack_stub.delivered()) == 5
    for record in records:
        assert len(hits_for(slack_stub, record)) == 1


def test_the_slack_message_says_who_did_what_where_and_links_the_record(allowed, slack_stub):
    (record,) = act(1)
    wait_until(lambda: delivered(record, "slack"), 15)
    (message,) = slack_stub.delivered()
    assert message["text"] == (
        ":white_check_mark: Action `create-topic: tx-events` by *John Smith* (JohnSmithGithub) "
        f"*succeeded* on cluster `prod ({CLUSTER_ID})`"
    )
    link = f"{django_settings.SITE_URL}/settings/audit-log/{record.pk}/"
    assert link in message["attachments"][0]["footer"]


def test_denied_and_failed_look_different_in_slack(allowed, slack_stub):
    def fail():
        raise gate.OperationError("topic already exists")

    denied = gate.perform(JOHN, create_topic_op("x", action="TOPIC_DELETE"), ctx()).record
    failed = gate.perform(JOHN, create_topic_op("y", execute=fail), ctx()).record
    wait_until(lambda: delivered(denied, "slack") and delivered(failed, "slack"), 15)
    by_id = {str(r.pk): hits_for(slack_stub, r)[0].message for r in (denied, failed)}
    deny_msg, fail_msg = by_id[str(denied.pk)], by_id[str(failed.pk)]
    assert deny_msg["text"].startswith(":no_entry:") and "*denied*" in deny_msg["text"]
    assert fail_msg["text"].startswith(":x:") and "*failed*" in fail_msg["text"]
    assert deny_msg["attachments"][0]["color"] != fail_msg["attachments"][0]["color"]
    assert fail_msg["attachments"][0]["text"] == "Failed: topic already exists"


def test_slack_500_then_200_delivers_once(allowed, slack_stub):
    slack_stub.script(slack_stub.server_error())
    (record,) = act(1)
    row = wait_until(lambda: delivered(record, "slack"), 20)
    assert row.status == "delivered" and row.attempts == 2
    assert [h.response.status for h in hits_for(slack_stub, record)] == [500, 200]
    errors = list(
        DeliveryAttempt.objects.filter(sink="slack")
        .order_by("started_at")
        .values_list("error", flat=True)
    )
    assert errors == ["Slack answered 500 internal_error", ""]


def test_slack_429_waits_for_retry_after(allowed, slack_stub):
    slack_stub.script(slack_stub.rate_limited(3))
    (record,) = act(1)
    wait_until(lambda: delivered(record, "slack"), 20)
    first, second = hits_for(slack_stub, record)
    assert first.response.status == 429 and second.response.status == 200
    assert 2.9 <= second.at - first.at < 6


def test_slack_404_is_permanent_recorded_and_not_retried(allowed, slack_stub):
    slack_stub.script(slack_stub.not_found())
    (record,) = act(1)
    row = wait_until(lambda: delivered(record, "slack"), 15)
    assert row.status == "failed" and row.last_error == "Slack answered 404 no_service"
    time.sleep(3)  # longer than the first backoff: a retry would have come by now
    assert len(hits_for(slack_stub, record)) == 1


def test_a_hanging_slack_times_out_and_is_retried(allowed, slack_stub):
    slack_stub.script(slack_stub.hang(10))
    (record,) = act(1)
    row = wait_until(lambda: delivered(record, "slack"), 20)
    assert row.status == "delivered" and row.attempts == 2
    first = DeliveryAttempt.objects.filter(sink="slack").order_by("started_at").first()
    assert "Slack unreachable" in first.error and first.duration_ms < 3000


def test_secrets_never_reach_the_topic_slack_or_the_webhook(allowed, broker, slack_stub, hook_stub):
    def fail():
        raise gate.OperationError(f"bad value {SECRET} for sasl.jaas.config")

    operation = create_topic_op(
        "secretive",
        execute=fail,
        config_items={"sasl.jaas.config": f'... password="{SECRET}";', "ssl.key.password": SECRET},
    )
    record = gate.perform(JOHN, operation, ctx()).record
    wait_until(lambda: all(delivered(record, s) for s in ("kafka", "slack", "webhook")), 20)
    messages = read_topic(broker.bootstrap, want={str(record.pk)})
    on_topic = [m.value for m in messages if m.key == str(record.pk).encode()]
    assert on_topic and all(SECRET.encode() not in value for value in on_topic)
    assert all(SECRET.encode() not in h.request.body for h in hits_for(slack_stub, record))
    assert hook_stub.documents and SECRET not in json.dumps(hook_stub.documents)


def test_a_webhook_outage_is_retried_until_it_answers(allowed, hook_stub):
    hook_stub.status = 503
    (record,) = act(1)
    wait_until(lambda: Delivery.objects.get(record=record, sink="webhook").attempts >= 1, 10)
    hook_stub.status = 200
    row = wait_until(lambda: delivered(record, "webhook"), 20)
    assert row.status == "delivered" and row.attempts >= 2
    assert [d["id"] for d in hook_stub.documents] == [str(record.pk)]


def test_records_are_sealed_by_the_worker(allowed):
    from audit import chain

    records = act(3)
    wait_until(lambda: all(s.startswith("sealed") for s in chain.state_for(records).values()), 15)
    assert verification.verify().ok


@pytest.fixture
def redis_hangs(settings):
    """Redis' address answers nothing: a socket that listens but never speaks."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(100)
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    scheduling._celery.quiet_until = 0.0
    yield
    scheduling._celery.quiet_until = 0.0
    listener.close()


def test_a_hanging_redis_never_holds_up_a_request_and_the_sweep_delivers_later(
    allowed, redis_hangs, settings, slack_stub
):
    started = time.monotonic()
    records = act(3)
    assert time.monotonic() - started < 0.5  # each kick waits on Redis in the background
    time.sleep(1.5)  # the kick thread gave up on Redis by now
    assert Delivery.objects.filter(status="pending", sink="slack").count() == 3
    settings.CELERY_BROKER_URL = django_settings.REDIS_URL  # Redis is back; beat sweeps
    from audit import tasks

    tasks.sweep.delay()
    wait_until(lambda: all_delivered(records, "slack"), 15)


# In-process (no Redis: make run) -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_without_redis_delivery_runs_in_process_and_never_blocks_the_request(settings, broker):
    from tests.stubs.slack import SlackStub

    slack = SlackStub().start()
    slack.default = slack.hang(3)
    try:
        settings.CELERY_TASK_ALWAYS_EAGER = True
        settings.SLACK_WEBHOOK_URL = slack.url
        settings.FLEX_AUDIT_SINK_TIMEOUT = 1
        settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
        audit_sink.reset_producer()
        allow(["TOPIC_CREATE"])
        started = time.monotonic()
        (record,) = act(1)
        assert time.monotonic() - started < 0.5  # Slack hangs; the request does not
        wait_until(lambda: delivered(record, "kafka"), 15)
        slack.default = slack.ok()
        wait_until(lambda: delivered(record, "slack"), 15)
        assert Delivery.objects.get(record=record, sink="slack").attempts == 2
    finally:
        slack.stop()
        audit_sink.reset_producer()
