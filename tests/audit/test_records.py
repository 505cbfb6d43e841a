"""Redaction before storage: no secret reaches the database, whatever shape it comes in."""

from __future__ import annotations

import hashlib
import json

from audit import gate
from audit.models import AuditRecord
from audit.records import MAX_DEPTH, REDACTED, TOO_DEEP, Payload, redact
from tests.audit.conftest import JOHN, create_topic_op, ctx, sql

SECRET = "hunter2-very-secret"


def stored_text() -> str:
    """Every audit row as PostgreSQL holds it (columns and document)."""
    return json.dumps(sql("SELECT row_to_json(r)::text FROM audit_auditrecord r"))


def test_it_redacts_passwords_tokens_and_jaas_configs(policies):
    config = {
        "sasl.jaas.config": f'org.apache.kafka...PlainLoginModule required password="{SECRET}";',
        "ssl.key.password": SECRET,
        "ssl.truststore.password": SECRET,
        "retention.ms": "1000",
    }
    request_extra = {"api_token": SECRET, "nested": [{"password": SECRET}]}
    operation = create_topic_op(config_items=config)
    operation.request.update(request_extra)

    record = gate.perform(JOHN, operation, ctx()).record
    record.refresh_from_db()
    items = record.document["data"]["event"][1]["config-items"]
    assert items == {
        "sasl.jaas.config": REDACTED,
        "ssl.key.password": REDACTED,
        "ssl.truststore.password": REDACTED,
        "retention.ms": "1000",
    }
    assert record.document["data"]["event"][1]["api_token"] == REDACTED
    assert SECRET not in stored_text()


def test_it_redacts_keys_the_cluster_reports_as_sensitive(policies):
    operation = create_topic_op(
        config_items={"custom.plugin.setting": SECRET},
        sensitive_keys=frozenset({"custom.plugin.setting"}),
    )
    gate.perform(JOHN, operation, ctx())
    assert SECRET not in stored_text()


def test_it_redacts_a_secret_given_as_a_name_value_pair():
    value = redact({"configs": [{"name": "sasl.jaas.config", "value": SECRET}]})
    assert value == {"configs": [{"name": "sasl.jaas.config", "value": REDACTED}]}


def test_it_scrubs_a_secret_echoed_in_an_error_message(policies):
    def execute():
        raise gate.OperationError(f"invalid value {SECRET} for ssl.key.password")

    operation = create_topic_op(config_items={"ssl.key.password": SECRET}, execute=execute)
    outcome = gate.perform(JOHN, operation, ctx())
    assert outcome.error == f"invalid value {REDACTED} for ssl.key.password"
    assert SECRET not in stored_text()


def test_produced_payloads_are_stored_as_size_and_sha256(policies):
    operation = create_topic_op()
    operation.request.update({"key": Payload(b"k1"), "value": Payload(SECRET.encode())})
    record = gate.perform(JOHN, operation, ctx()).record
    record.refresh_from_db()
    request = record.document["data"]["event"][1]
    assert request["value"] == {
        "size": len(SECRET),
        "sha256": hashlib.sha256(SECRET.encode()).hexdigest(),
    }
    assert SECRET not in stored_text()


def test_full_capture_stores_the_payload_text(policies, settings):
    settings.FLEX_AUDIT_CAPTURE_PAYLOADS = "full"
    operation = create_topic_op()
    operation.request.update({"value": Payload(b"hello"), "key": Payload(b"\xff\x00")})
    record = gate.perform(JOHN, operation, ctx()).record
    record.refresh_from_db()
    assert record.document["data"]["event"][1]["value"] == "hello"
    assert record.document["data"]["event"][1]["key"] == {"hex": "ff00"}


def test_text_postgresql_cannot_hold_is_replaced_not_an_error(policies):
    operation = create_topic_op("nul\x00name")
    operation.request["note"] = "lone \ud800 surrogate"
    record = gate.perform(JOHN, operation, ctx()).record
    assert AuditRecord.objects.filter(pk=record.pk).exists()
    assert "\x00" not in json.dumps(AuditRecord.objects.get().document)


def nested(depth: int, leaf: object) -> object:
    """``depth`` levels of alternating dicts and lists around ``leaf``, built without recursion."""
    value = leaf
    for level in range(depth):
        value = {"child": value} if level % 2 else [value]
    return value


def test_it_redacts_a_body_nested_thousands_of_levels_deep():
    found: set[str] = set()
    out = redact({"body": nested(5000, {"password": SECRET})}, found=found)
    assert SECRET not in json.dumps(out)  # no RecursionError, and nothing deep kept
    assert found == {SECRET}  # the secret in the dropped subtree is still known to scrub()
    depth, value = 0, out
    while isinstance(value, dict | list):
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
        depth += 1
    assert value == TOO_DEEP and depth == MAX_DEPTH


def test_it_keeps_a_document_as_deep_as_the_limit_whole():
    body = nested(MAX_DEPTH - 1, {"password": SECRET, "name": "x"})
    assert json.dumps(redact(body)) == json.dumps(
        nested(MAX_DEPTH - 1, {"password": REDACTED, "name": "x"})
    )


def test_a_deeply_nested_request_is_recorded_and_its_secrets_never_stored(policies):
    operation = create_topic_op()
    operation.request["config-items"] = nested(1000, {"ssl.key.password": SECRET})

    outcome = gate.perform(JOHN, operation, ctx())

    assert outcome.ok
    assert SECRET not in stored_text() and TOO_DEEP in stored_text()
