"""Producing hostile messages: oversized and binary values, bad headers and partitions.

A refused message answers 4xx, leaves exactly one ``failed`` record of
``mutation/produce`` and adds nothing to the topic. Odd but valid messages (binary,
NUL bytes, unicode header names) are produced and recorded once, and the record keeps
no NUL character (PostgreSQL's jsonb cannot hold one).
"""

from __future__ import annotations

import base64
import json

import pytest
from django.urls import reverse

from tests.hostile.support import XSS_SCRIPT, document_text, latest_offsets

LIMIT = 1024  # FLEX_PRODUCE_MAX_BYTES for these cases


@pytest.fixture
def topic(planted, guard, settings) -> str:
    settings.FLEX_PRODUCE_MAX_BYTES = LIMIT
    name = planted()
    guard.reset()
    return name


def _form_url(cluster, topic: str) -> str:
    return reverse("topic-produce", kwargs={"cluster": cluster.key, "topic": topic})


def _api_url(cluster, topic: str) -> str:
    return f"/api/clusters/{cluster.key}/topics/{topic}/messages"


def _form(**fields) -> dict:
    return {"key": "", "value": "v", "headers": "", "partition": "", **fields}


def _assert_refused(response, guard, cluster, topic, before, status=None):
    assert 400 <= response.status_code < 500, response.status_code
    if status is not None:
        assert response.status_code == status
    [record] = guard.check(response, records=1, outcome="failed")
    assert record.event == "mutation/produce"
    assert latest_offsets(cluster, topic) == before, "a refused message reached the topic"
    return record


BAD_FORMS = {
    "value-over-limit": _form(value="x" * (LIMIT + 1)),
    "key-over-limit": _form(key="k" * (LIMIT + 1)),
    "header-over-limit": _form(headers="h: " + "x" * (LIMIT + 1)),
    "many-headers-over-limit": _form(headers="\n".join(f"h{i}: {'x' * 50}" for i in range(40))),
    "multibyte-over-limit": _form(value="é" * (LIMIT // 2 + 1)),
    "nul-in-value": _form(value="a\x00b"),
    "nul-in-key": _form(key="\x00"),
    "nul-in-header": _form(headers="h\x00: v"),
    "header-without-colon": _form(headers="just text"),
    "header-empty-name": _form(headers=": v"),
    "partition-negative": _form(partition="-1"),
    "partition-letters": _form(partition="abc"),
    "partition-fraction": _form(partition="1.5"),
    "partition-huge": _form(partition="9" * 40),
    "partition-missing": _form(partition="7"),
    "partition-sql": _form(partition="0 OR 1=1"),
}


@pytest.mark.parametrize("data", BAD_FORMS.values(), ids=BAD_FORMS.keys())
def test_the_produce_form_refuses_a_bad_message(bob, cluster, guard, topic, data):
    before = latest_offsets(cluster, topic)
    response = bob.post(_form_url(cluster, topic), data)
    _assert_refused(response, guard, cluster, topic, before)


def test_the_produce_form_answers_413_for_a_body_over_the_upload_limit(
    bob, cluster, guard, topic, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    before = latest_offsets(cluster, topic)
    response = bob.post(_form_url(cluster, topic), _form(value="x" * 10_000))
    _assert_refused(response, guard, cluster, topic, before, status=413)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


BAD_BODIES = {
    "value-over-limit": {"value": "x" * (LIMIT + 1)},
    "base64-over-limit": {"value": _b64(b"\xff" * (LIMIT + 1)), "encoding": "base64"},
    "header-over-limit": {"value": "v", "headers": {"h": "x" * (LIMIT + 1)}},
    "bad-base64": {"value": "!!not base64!!", "encoding": "base64"},
    "unknown-encoding": {"value": "v", "encoding": "rot13"},
    "encoding-null": {"value": "v", "encoding": None},
    "headers-as-list": {"value": "v", "headers": [["h", "v"]]},
    "headers-as-string": {"value": "v", "headers": "h: v"},
    "header-value-object": {"value": "v", "headers": {"h": {"x": 1}}},
    "header-value-null": {"value": "v", "headers": {"h": None}},
    "header-value-list": {"value": "v", "headers": {"h": ["a"]}},
    "value-object": {"value": {"a": 1}},
    "value-list": {"value": [1, 2]},
    "value-bool": {"value": True},
    "key-object": {"key": {"k": 1}, "value": "v"},
    "partition-negative": {"value": "v", "partition": -1},
    "partition-string": {"value": "v", "partition": "abc"},
    "partition-fraction": {"value": "v", "partition": 1.5},
    "partition-huge": {"value": "v", "partition": 10**40},
    "partition-bool": {"value": "v", "partition": True},
    "partition-missing": {"value": "v", "partition": 7},
    # NUL in a UTF-8 string is refused (binary goes as base64); the error names the header,
    # NUL and all, and must still be recordable.
    "nul-in-utf8-value": {"value": "a\x00b"},
    "nul-in-header-name-and-value": {"value": "v", "headers": {"h\x00": "v\x00"}},
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_the_produce_api_refuses_a_bad_message(api, cluster, guard, topic, body):
    before = latest_offsets(cluster, topic)
    response = api.post(_api_url(cluster, topic), json.dumps(body), content_type="application/json")
    _assert_refused(response, guard, cluster, topic, before)
    assert response.json()["audit_record"]


def test_the_produce_api_answers_413_for_a_body_over_the_upload_limit(
    api, cluster, guard, topic, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    before = latest_offsets(cluster, topic)
    body = json.dumps({"value": "x" * 10_000})
    response = api.post(_api_url(cluster, topic), body, content_type="application/json")
    _assert_refused(response, guard, cluster, topic, before, status=413)


ODD_BUT_VALID = {
    "invalid-utf8": {"value": _b64(b"\xff\xfe\x80" + XSS_SCRIPT.encode()), "encoding": "base64"},
    "nul-bytes": {"key": _b64(b"\x00"), "value": _b64(b"a\x00b\x00"), "encoding": "base64"},
    "nul-header-name": {"value": "v", "headers": {"h\x00": "v"}},
    "unicode-everywhere": {"key": "ключ", "value": "値 🔥", "headers": {"ヘッダ": "ü"}},
    "script-value": {"value": XSS_SCRIPT, "headers": {XSS_SCRIPT: XSS_SCRIPT}},
    "exactly-at-limit": {"value": "x" * LIMIT},
}


@pytest.mark.parametrize("body", ODD_BUT_VALID.values(), ids=ODD_BUT_VALID.keys())
def test_the_produce_api_takes_odd_valid_messages_and_records_each_once(
    api, cluster, guard, topic, body
):
    before = latest_offsets(cluster, topic)
    response = api.post(_api_url(cluster, topic), json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    [record] = guard.check(response, records=1, outcome="succeeded")
    assert latest_offsets(cluster, topic) == [before[0] + 1]
    assert "\x00" not in document_text(record)
