"""Records are signed as they are written, over the very text PostgreSQL publishes them as."""

from __future__ import annotations

import hashlib
import random

import pytest

from audit import ledger, scheduling, signing
from audit.gate import Ctx, record_event
from audit.published import NotWritable, jsonb_text
from tests.audit.conftest import act, read_topic

TRICKY = [
    {"": "", "a": [], "bb": {}, "é": "ü", "ab": "z", "b": None, "aa": [1, -2, 0]},
    {'quotes " and \\ backslash': "line\nbreak\ttab\rcr\bbs\ffeed\x01\x1f\x7f"},
    {"unicode": "日本語 ☃ 🎉 \u2028\u2029 \ufeff", "日本": "key of three bytes each"},
    {"floats": [1.5, -0.25, 1e-07, 1.5e20, 123456789.125, 2.5e-05], "ints": [10**30, -(2**63)]},
    {"nested": [[[{"z": 1, "y": [True, False, None]}]]], "html": "<script>alert(1)</script>"},
    {"keys": {"aaa": 1, "b": 2, "cc": 3, "B": 4, "Ä": 5, "a\u0301": 6, "~": 7}},
]


def _random_text(rng: random.Random) -> str:
    pools = [range(0x01, 0x80), range(0x80, 0x800), range(0x800, 0xD800), range(0x10000, 0x10FFFF)]
    return "".join(chr(rng.choice(rng.choice(pools))) for _ in range(rng.randint(0, 12)))


def _random_request(rng: random.Random, depth: int = 0) -> dict:
    request = {}
    for _ in range(rng.randint(0, 6)):
        kind = rng.random()
        if kind < 0.5 or depth > 2:
            value: object = _random_text(rng)
        elif kind < 0.7:
            value = rng.choice(
                [rng.randint(-(10**12), 10**12), rng.random() * 10 ** rng.randint(-8, 8)]
            )
        elif kind < 0.85:
            value = [_random_text(rng), rng.choice([True, False, None])]
        else:
            value = _random_request(rng, depth + 1)
        request[_random_text(rng)] = value
    return request


REQUESTS = TRICKY + [_random_request(random.Random(seed)) for seed in range(40)]


@pytest.mark.parametrize("request_body", REQUESTS)
def test_the_text_signed_at_write_time_is_the_text_postgresql_publishes(db, request_body):
    record = record_event(
        actor=None, type="query/request", event="query/probe", request=request_body, ctx=Ctx()
    )
    published = ledger.published_value(record).encode()

    assert jsonb_text(record.document).encode() == published
    assert record.signed_sha256 == hashlib.sha256(published).hexdigest()
    assert record.key_id == signing.current_signer().key_id


def test_values_jsonb_cannot_hold_are_not_signed_ahead():
    with pytest.raises(NotWritable):
        jsonb_text({"x": float("nan")})
    with pytest.raises(NotWritable):
        jsonb_text({"x": object()})


def test_the_topic_publishes_the_signature_made_when_the_record_was_written(
    policies, broker, settings
):
    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    (record,) = act(1)
    assert scheduling.run("kafka") >= 1
    (message,) = [
        m
        for m in read_topic(broker.bootstrap, {str(record.pk)})
        if m.key == str(record.pk).encode()
    ]
    assert dict(message.headers)["flex-signature"] == record.signature.encode()


def test_a_record_written_unsigned_is_signed_as_it_is_sent(policies, broker, settings):
    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    settings.DEBUG, key_file = False, settings.FLEX_AUDIT_SIGNING_KEY_FILE
    settings.FLEX_AUDIT_SIGNING_KEY_FILE = ""
    (record,) = act(1)  # no key at hand: written unsigned
    assert record.signature == ""
    settings.FLEX_AUDIT_SIGNING_KEY_FILE = key_file
    assert scheduling.run("kafka") >= 1
    (message,) = [
        m
        for m in read_topic(broker.bootstrap, {str(record.pk)})
        if m.key == str(record.pk).encode()
    ]
    headers = dict(message.headers)
    signer = signing.current_signer()
    assert headers["flex-signature"].decode() == signer.sign(message.value)
    assert headers["flex-key-id"].decode() == signer.key_id
