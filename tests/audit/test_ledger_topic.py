"""The ledger on the wire: signed messages on the audit topic (real Tansu, real producers),
``audit_verify --topic``, and the webhook's formats with their signatures."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

import pytest
from django.core.management import CommandError, call_command
from kafka import KafkaProducer

from audit import ledger, scheduling, signing
from audit.models import AuditRecord, Checkpoint, Delivery
from audit.verify import public_keys, signature_problem
from standins.http import Response
from tests.audit.conftest import act, read_topic, start_worker
from tests.audit.test_ledger import delete_newest, save, seal_all
from tests.conftest import wait_until
from topics import audit_sink


@pytest.fixture
def topic(broker, settings):
    """A fresh audit topic for this test: the session broker keeps every other test's."""
    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    settings.FLEX_AUDIT_TOPIC = f"__oprtr_audit_log_{uuid.uuid4().hex[:10]}"
    audit_sink.reset_producer()
    yield settings.FLEX_AUDIT_TOPIC
    audit_sink.reset_producer()


def delivered(n: int) -> list[AuditRecord]:
    records = act(n)
    assert scheduling.run("kafka") >= n
    return records


def topic_problems(capsys) -> str:
    with pytest.raises(CommandError):
        call_command("audit_verify", "--topic")
    return capsys.readouterr().err


def test_every_message_is_signed_over_its_exact_value(policies, broker, topic):
    records = delivered(3)
    keys = public_keys(signing.keys_json())

    messages = read_topic(broker.bootstrap, {str(r.pk) for r in records}, topic=topic)

    assert len(messages) == 3
    for message in messages:
        headers = dict(message.headers)
        assert json.loads(message.value)["id"] == message.key.decode()
        assert headers["flex-key-id"].decode() == signing.current_signer().key_id
        problem = signature_problem(
            keys, headers["flex-key-id"].decode(), headers["flex-signature"].decode(), message.value
        )
        assert problem is None
        assert signature_problem(
            keys,
            headers["flex-key-id"].decode(),
            headers["flex-signature"].decode(),
            message.value + b" ",
        )


def test_an_intact_topic_passes(policies, topic, capsys):
    delivered(3)
    call_command("audit_verify", "--topic")
    assert "3 messages on the topic, 3 records" in capsys.readouterr().out


def test_a_record_produced_by_a_raw_client_is_reported_forged(policies, broker, topic, capsys):
    (real,) = delivered(1)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    unsigned = {**real.document, "id": str(uuid.uuid4())}
    resigned = {**real.document, "id": str(uuid.uuid4())}
    producer.send(topic, key=unsigned["id"].encode(), value=json.dumps(unsigned).encode())
    producer.send(
        topic,
        key=resigned["id"].encode(),
        value=json.dumps(resigned).encode(),
        headers=[
            ("flex-signature", b"AAAA" * 22),
            ("flex-key-id", signing.current_signer().key_id.encode()),
        ],
    )
    producer.flush()
    producer.close()

    named = topic_problems(capsys)

    assert f"(id {unsigned['id']}): not signed (no signature or key id)" in named
    assert f"(id {resigned['id']}): the signature does not verify with key" in named
    assert str(real.pk) not in named


def test_deleting_the_newest_records_is_seen_on_the_topic_and_by_the_checkpoint(
    policies, topic, tmp_path, capsys
):
    delivered(5)
    seal_all()
    saved = save(tmp_path / "cp.json", ledger.checkpoint_json(ledger.checkpoint()))
    scheduling.run("kafka")  # the checkpoint's own record
    gone = delete_newest(3)  # the checkpoint record and the two newest actions

    call_command("audit_verify")  # the chain alone cannot tell
    capsys.readouterr()
    named = topic_problems(capsys)
    for rid in gone:
        assert f"record {rid} is on the topic but missing from the database" in named
    with pytest.raises(CommandError, match="cut off: checkpoint #1 covers 5 sealed records"):
        call_command("audit_verify", "--checkpoint", str(saved))


def test_a_record_delivered_but_absent_from_the_topic_is_named(policies, topic, settings, capsys):
    (record,) = delivered(1)
    settings.FLEX_AUDIT_TOPIC = topic + "-elsewhere"  # the topic lost its messages
    audit_sink.ensure_topic()

    assert f"record {record.pk} was delivered but is not on the topic" in topic_problems(capsys)


def test_records_signed_before_a_key_rotation_still_verify(
    policies, topic, settings, tmp_path, capsys
):
    delivered(2)
    old = signing.current_signer().key_id
    rotated = tmp_path / "rotated.pem"
    signing.generate_key_file(rotated)
    settings.FLEX_AUDIT_SIGNING_KEY_FILE = str(rotated)
    delivered(2)

    call_command("audit_verify", "--topic")
    assert "4 messages on the topic, 4 records" in capsys.readouterr().out
    keys = {k["id"]: k["retired"] for k in signing.keys_json()["keys"]}
    assert keys[old] is not None and keys[signing.current_signer().key_id] is None


def test_without_a_signing_key_nothing_is_published_unsigned(policies, topic, settings):
    settings.DEBUG, settings.FLEX_AUDIT_SIGNING_KEY_FILE = False, ""
    (record,) = act(1)

    scheduling.run("kafka")

    row = Delivery.objects.get(record=record, sink="kafka")
    assert row.status == Delivery.PENDING and row.attempts == 1
    assert "cannot sign audit records: FLEX_AUDIT_SIGNING_KEY_FILE is not set" in row.last_error


# The webhook's formats -------------------------------------------------------------------

CLOUDEVENTS_REQUIRED = {"specversion", "id", "source", "type"}  # CloudEvents 1.0, §3.1
OCSF_BASE_REQUIRED = {
    "activity_id",
    "category_uid",
    "class_uid",
    "type_uid",
    "severity_id",
    "time",
    "metadata",
}  # OCSF base event, classification and occurrence
OCSF_API_ACTIVITY_REQUIRED = {"actor", "api", "src_endpoint"}  # OCSF API Activity (6003)


@pytest.fixture
def hook(http_stub, settings):
    server = http_stub(lambda request: Response(200, ""))
    settings.WEBHOOK_URL = server.url + "/hook"
    return server


def posted(hook, fmt: str, settings) -> list:
    settings.WEBHOOK_FORMAT = fmt
    records = act(2)
    assert scheduling.run("webhook") == 2
    requests = hook.requests
    keys = public_keys(signing.keys_json())
    for request in requests:  # the signature covers the bytes actually sent
        assert request.headers["flex-key-id"] == signing.current_signer().key_id
        problem = signature_problem(
            keys, request.headers["flex-key-id"], request.headers["flex-signature"], request.body
        )
        assert problem is None, problem
    assert [r.headers["x-flex-audit-id"] for r in requests] == [str(r.pk) for r in records]
    return requests


def test_the_flex_format_posts_the_document_as_on_the_topic(policies, hook, settings):
    for request in posted(hook, "flex", settings):
        record = AuditRecord.objects.get(pk=request.headers["x-flex-audit-id"])
        assert request.body.decode() == ledger.published_value(record)
        assert request.headers["content-type"] == "application/json"


def test_the_cloudevents_format_is_a_structured_cloudevent(policies, hook, settings):
    for request in posted(hook, "cloudevents", settings):
        event = request.json()
        record = AuditRecord.objects.get(pk=request.headers["x-flex-audit-id"])
        assert set(event) >= CLOUDEVENTS_REQUIRED
        assert all(isinstance(event[k], str) and event[k] for k in CLOUDEVENTS_REQUIRED)
        assert event["specversion"] == "1.0" and event["id"] == str(record.pk)
        assert re.fullmatch(r"[a-z][a-z0-9+.-]*://\S+", event["source"])
        assert datetime.fromisoformat(event["time"]).timestamp() * 1000 == record.document["ts"]
        assert event["subject"] == "mutation/create-topic"
        assert event["datacontenttype"] == "application/json"
        assert event["data"] == record.document
        assert request.headers["content-type"].startswith("application/cloudevents+json")


def test_the_ocsf_format_is_an_api_activity(policies, hook, settings):
    for request in posted(hook, "ocsf", settings):
        event = request.json()
        record = AuditRecord.objects.get(pk=request.headers["x-flex-audit-id"])
        assert set(event) >= OCSF_BASE_REQUIRED | OCSF_API_ACTIVITY_REQUIRED
        assert {"product", "version"} <= set(event["metadata"])
        assert event["metadata"]["product"]["vendor_name"]
        assert event["class_uid"] == 6003 and event["category_uid"] == 6
        assert event["type_uid"] == 6003 * 100 + event["activity_id"]
        assert event["activity_id"] == 1  # create-topic: Create
        assert event["api"]["operation"] == "mutation/create-topic"
        assert event["actor"]["user"]["name"] == "JohnSmithGithub"
        assert event["src_endpoint"]["ip"] == "127.0.0.1"
        assert {"type": "kafka-topic", "name": "tx-events"} in event["resources"]
        assert (event["status_id"], event["status"]) == (1, "Success")
        assert event["time"] == record.document["ts"]
        assert event["unmapped"] == record.document


# In the background ------------------------------------------------------------------------


def test_a_worker_checkpoints_seconds_after_sealing_and_publishes_it(
    transactional_db, policies, broker, topic, tmp_path
):
    worker = start_worker(
        tmp_path / "celery.log",
        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
        FLEX_AUDIT_TOPIC=topic,
        FLEX_AUDIT_CHECKPOINT_SECONDS="1",
    )
    try:
        act(3)
        cp = wait_until(lambda: Checkpoint.objects.filter(records__gte=3).first(), timeout=60)
        wait_until(
            lambda: Delivery.objects.filter(
                record_id=cp.record_id, sink="kafka", status=Delivery.DELIVERED
            ).exists(),
            timeout=60,
        )
    finally:
        worker.stop()
    keys = public_keys(signing.keys_json())
    (message,) = [
        m
        for m in read_topic(broker.bootstrap, {str(cp.record_id)}, topic=topic)
        if m.key.decode() == str(cp.record_id)
    ]
    document = json.loads(message.value)
    assert document["type"] == "audit/checkpoint"
    assert document["data"]["event"][1]["root"] == cp.root
    headers = {k: v.decode() for k, v in message.headers}
    assert (
        signature_problem(keys, headers["flex-key-id"], headers["flex-signature"], message.value)
        is None
    )
