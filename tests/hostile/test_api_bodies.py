"""Bodies of the wrong shape for every API endpoint that takes one: lists, strings, numbers,
null, invalid JSON, invalid UTF-8, wrong content types, absurd nesting.

Each answers 4xx as ``{"error", "detail"}``; each request that reaches the endpoint
leaves exactly one record (``failed`` for topic operations); nothing changes on Tansu.
"""

from __future__ import annotations

import pytest

from audit.models import AuditRecord
from tests.hostile.support import config_values, latest_offsets

JSON = "application/json"

# (body bytes, content type)
BAD_BODIES = {
    "list": (b"[]", JSON),
    "list-of-objects": (b'[{"name": "x"}]', JSON),
    "string": (b'"name=x"', JSON),
    "number": (b"42", JSON),
    "null": (b"null", JSON),
    "true": (b"true", JSON),
    "truncated": (b'{"name": ', JSON),
    "trailing-garbage": (b"{} {}", JSON),
    "single-quotes": (b"{'name': 'x'}", JSON),
    "nan": (b'{"partitions": NaN, "value": NaN, "set": NaN}', JSON),
    "infinity": (b'{"partitions": 1e999, "partition": 1e999}', JSON),
    "empty": (b"", JSON),
    "invalid-utf8": (b'{"name": "\xff\xfe", "value": "\xff"}', JSON),
    "bogus-charset": (b"{}", "application/json; charset=bogus-42"),
    "text-plain": (b'{"name": "x"}', "text/plain"),
    "xml": (b"<topic><name>x</name></topic>", "application/xml"),
    "deep-nesting": (b"[" * 100_000 + b"]" * 100_000, JSON),
    "deep-object": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON),
}


@pytest.fixture
def topic(planted, guard) -> str:
    name = planted()
    guard.reset()
    return name


def _send(client, method: str, url: str, body: bytes, content_type: str):
    """The bytes as given: ``generic`` does not re-encode them for the content type's charset."""
    return client.generic(method.upper(), url, body, content_type=content_type)


def _assert_refused(response, guard, event: str) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert set(response.json()) >= {"error", "detail"}
    [record] = guard.check(response, records=1, outcome="failed")
    assert record.event == event


@pytest.mark.parametrize(("body", "content_type"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_creating_a_topic_with_a_bad_body_is_refused(api, cluster, guard, body, content_type):
    response = _send(api, "post", f"/api/clusters/{cluster.key}/topics", body, content_type)
    _assert_refused(response, guard, "mutation/create-topic")


@pytest.mark.parametrize(("body", "content_type"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_editing_configs_with_a_bad_body_is_refused(api, cluster, guard, topic, body, content_type):
    before = config_values(cluster, topic)
    url = f"/api/clusters/{cluster.key}/topics/{topic}/configs"
    response = _send(api, "patch", url, body, content_type)
    _assert_refused(response, guard, "mutation/edit-topic-config")
    assert config_values(cluster, topic) == before


@pytest.mark.parametrize(("body", "content_type"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_producing_with_a_bad_body_is_refused(api, cluster, guard, topic, body, content_type):
    before = latest_offsets(cluster, topic)
    url = f"/api/clusters/{cluster.key}/topics/{topic}/messages"
    response = _send(api, "post", url, body, content_type)
    _assert_refused(response, guard, "mutation/produce")
    assert latest_offsets(cluster, topic) == before


DECIDE_BODIES = {
    **BAD_BODIES,
    "roles-as-string": (b'{"roles": "admins", "action": "TOPIC_CREATE", "resource": []}', JSON),
    "action-unknown": (
        b'{"roles": [], "action": "DROP TABLE", "resource": ["cluster", "*"]}',
        JSON,
    ),
    "resource-as-number": (b'{"roles": [], "action": "TOPIC_CREATE", "resource": 7}', JSON),
    "resource-nested": (
        b'{"roles": [], "action": "TOPIC_CREATE", "resource": [["cluster"], {"a": 1}]}',
        JSON,
    ),
}


@pytest.mark.parametrize(("body", "content_type"), DECIDE_BODIES.values(), ids=DECIDE_BODIES.keys())
def test_the_decide_api_refuses_a_bad_body_and_records_it(
    client, personas, grant, body, content_type
):
    client.force_login(personas["alice"])
    before = AuditRecord.objects.count()
    response = _send(client, "post", "/api/rbac/decide", body, content_type)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert set(response.json()) >= {"error", "detail"}
    assert AuditRecord.objects.count() == before + 1
