"""Creating a topic with hostile names, partitions, replication and configs, by form and API.

Each refused request answers 4xx with a clear error, leaves exactly one ``failed`` record
of ``mutation/create-topic`` and creates nothing on Tansu (``Guard``).
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from tests.hostile.support import SQL_PAYLOADS, XSS_IMG, XSS_SCRIPT, document_text

# Names Kafka (and Flex) refuse. ``{s}`` becomes a per-test suffix, so a name that were
# wrongly accepted could not collide with another test's topic.
BAD_NAMES = {
    "empty": "",
    "blank": "   ",
    "250-chars": "x" * 250,
    "dot": ".",
    "dotdot": "..",
    "space": "a b{s}",
    "slash": "a/b{s}",
    "backslash": "a\\b{s}",
    "path-traversal": "../../etc/passwd{s}",
    "unicode": "tópico-{s}",
    "cjk": "名前{s}",
    "emoji": "t-🔥-{s}",
    "rtl-override": "t\u202e{s}",
    "nul-inside": "t\x00{s}",
    "nul-only": "\x00",
    "newline": "t\n{s}",
    "tab": "t\t{s}",
    "script": XSS_SCRIPT + "{s}",
    "img-onerror": XSS_IMG + "{s}",
    "sql-or": SQL_PAYLOADS[0] + "{s}",
    "sql-drop": SQL_PAYLOADS[1] + "{s}",
    "percent": "%{s}",
    "colon": "a:b{s}",
}

BAD_PARTITIONS = {
    "zero": "0",
    "negative": "-1",
    "over-10000": "10001",
    "letters": "abc",
    "fraction": "1.5",
    "huge": "9" * 40,
    "empty": "",
    "exponent": "1e3",
    "hex": "0x10",
    "sql": "1 OR 1=1",
}

BAD_REPLICATION = {
    "zero": "0",
    "more-than-brokers": "2",
    "letters": "abc",
    "negative": "-1",
    "huge": "9" * 40,
    "empty": "",
}

BAD_CONFIG_LINES = {
    "unknown-key": "foo.bar=1",
    "secret-jaas": "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
    'required username="u" password="hunter2-secret";',
    "secret-ssl-password": "ssl.key.password=hunter2-secret",
    "huge-value": "retention.ms=" + "9" * 100_000,
    "not-a-number": "retention.ms=forever",
    "nul-in-value": "retention.ms=1\x00",
    "no-equals": "retention.ms",
    "no-key": "=1000",
    "bad-choice": "cleanup.policy=delete,<script>",
    "sql-in-value": "compression.type=' OR 1=1 --",
    "nan": "min.cleanable.dirty.ratio=NaN",
    "bool-word": "preallocate=yes",
}


def _form(cluster, name="ok-{s}", partitions="1", replication="1", configs="", *, suffix):
    return {
        "name": name.format(s=suffix),
        "partitions": partitions,
        "replication_factor": replication,
        "configs": configs,
    }


def _create_url(cluster) -> str:
    return reverse("topic-create", kwargs={"cluster": cluster.key})


def _api_url(cluster) -> str:
    return f"/api/clusters/{cluster.key}/topics"


def _assert_refused(response, guard) -> AuditRecord:
    assert 400 <= response.status_code < 500, response.status_code
    [record] = guard.check(response, records=1, outcome="failed")
    assert record.event == "mutation/create-topic"
    return record


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_the_create_form_refuses_a_bad_topic_name(bob, cluster, guard, suffix, name):
    response = bob.post(_create_url(cluster), _form(cluster, name=name, suffix=suffix))
    _assert_refused(response, guard)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_the_api_refuses_a_bad_topic_name(api, cluster, guard, suffix, name):
    body = {"name": name.format(s=suffix), "partitions": 1, "replication_factor": 1}
    response = api.post(_api_url(cluster), json.dumps(body), content_type="application/json")
    _assert_refused(response, guard)
    assert response.json()["error"] == "invalid_request"


def test_the_api_refuses_a_lone_surrogate_in_a_name(api, cluster, guard, suffix):
    body = '{"name": "t-\\ud800-' + suffix + '", "partitions": 1}'  # JSON escapes a surrogate
    response = api.post(_api_url(cluster), body, content_type="application/json")
    _assert_refused(response, guard)


@pytest.mark.parametrize("value", BAD_PARTITIONS.values(), ids=BAD_PARTITIONS.keys())
def test_the_create_form_refuses_bad_partitions(bob, cluster, guard, suffix, value):
    response = bob.post(_create_url(cluster), _form(cluster, partitions=value, suffix=suffix))
    _assert_refused(response, guard)


API_PARTITIONS = {
    "zero": 0,
    "negative": -1,
    "over-10000": 10001,
    "letters": "abc",
    "fraction": 1.5,
    "huge": 10**40,
    "null": None,
    "bool": True,
    "list": [1],
    "object": {"n": 1},
}


@pytest.mark.parametrize("value", API_PARTITIONS.values(), ids=API_PARTITIONS.keys())
def test_the_api_refuses_bad_partitions(api, cluster, guard, suffix, value):
    body = {"name": f"p-{suffix}", "partitions": value}
    response = api.post(_api_url(cluster), json.dumps(body), content_type="application/json")
    _assert_refused(response, guard)


@pytest.mark.parametrize("value", BAD_REPLICATION.values(), ids=BAD_REPLICATION.keys())
def test_the_create_form_refuses_bad_replication(bob, cluster, guard, suffix, value):
    response = bob.post(_create_url(cluster), _form(cluster, replication=value, suffix=suffix))
    _assert_refused(response, guard)


API_REPLICATION = {
    "zero": 0,
    "more-than-brokers": 3,
    "word": "two",
    "null": None,
    "huge": 10**20,
}


@pytest.mark.parametrize("value", API_REPLICATION.values(), ids=API_REPLICATION.keys())
def test_the_api_refuses_bad_replication(api, cluster, guard, suffix, value):
    body = {"name": f"r-{suffix}", "replication_factor": value}
    response = api.post(_api_url(cluster), json.dumps(body), content_type="application/json")
    _assert_refused(response, guard)


@pytest.mark.parametrize("line", BAD_CONFIG_LINES.values(), ids=BAD_CONFIG_LINES.keys())
def test_the_create_form_refuses_bad_configs_and_keeps_secrets_out_of_the_record(
    bob, cluster, guard, suffix, line
):
    response = bob.post(_create_url(cluster), _form(cluster, configs=line, suffix=suffix))
    record = _assert_refused(response, guard)
    assert "hunter2-secret" not in document_text(record)
    # The form gives the user back what they typed; the error itself does not repeat it.
    assert "hunter2-secret" not in response.context["outcome"].error


API_CONFIGS = {
    "unknown-key": {"foo.bar": "1"},
    "secret": {"sasl.jaas.config": 'x password="hunter2-secret";'},
    "huge-value": {"retention.ms": "9" * 100_000},
    "newline-injection": {"retention.ms": "1\ncleanup.policy=compact"},
    "nul": {"retention.ms": "1\x00"},
    "null-value": {"retention.ms": None},
    "nested-object": {"retention.ms": {"a": 1}},
    "list-not-object": [["retention.ms", "1"]],
    "string-not-object": "retention.ms=1",
    "key-with-script": {XSS_SCRIPT: "1"},
}


@pytest.mark.parametrize("configs", API_CONFIGS.values(), ids=API_CONFIGS.keys())
def test_the_api_refuses_bad_configs_and_keeps_secrets_out_of_the_record(
    api, cluster, guard, suffix, configs
):
    body = {"name": f"c-{suffix}", "configs": configs}
    response = api.post(_api_url(cluster), json.dumps(body), content_type="application/json")
    record = _assert_refused(response, guard)
    assert "hunter2-secret" not in document_text(record)
    assert "hunter2-secret" not in response.content.decode()
