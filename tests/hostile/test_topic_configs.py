"""Editing a topic's configs with hostile keys and values, by form and API.

A refused change answers 4xx, leaves exactly one ``failed`` record of
``mutation/edit-topic-config`` and leaves every config of the topic as it was.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from tests.hostile.support import XSS_SCRIPT, config_values, document_text

BAD_SET_LINES = {
    "unknown-key": "foo.bar=1",
    "secret-jaas": 'sasl.jaas.config=x required password="hunter2-secret";',
    "secret-ssl": "ssl.truststore.password=hunter2-secret",
    "huge-value": "retention.ms=" + "1" * 200_000,
    "nul-in-key": "retention\x00.ms=1",
    "nul-in-value": "retention.ms=1\x00",
    "script-key": f"{XSS_SCRIPT}=1",
    "script-value": f"compression.type={XSS_SCRIPT}",
    "sql-value": "retention.ms=1; DROP TABLE topics_cluster",
    "no-equals": "retention.ms",
    "unicode-digits": "retention.ms=١٢٣",
}

BAD_RESET = {
    "unknown-key": "foo.bar",
    "script": XSS_SCRIPT,
    "secret": "sasl.jaas.config",
    "nul": "retention.ms\x00",
}


@pytest.fixture
def topic(planted, guard) -> str:
    name = planted()
    guard.reset()
    return name


def _form_url(cluster, topic: str) -> str:
    return reverse("topic-configs", kwargs={"cluster": cluster.key, "topic": topic})


def _api_url(cluster, topic: str) -> str:
    return f"/api/clusters/{cluster.key}/topics/{topic}/configs"


def _assert_refused(response, guard, cluster, topic, before):
    assert 400 <= response.status_code < 500, response.status_code
    [record] = guard.check(response, records=1, outcome="failed")
    assert record.event == "mutation/edit-topic-config"
    assert config_values(cluster, topic) == before
    assert "hunter2-secret" not in document_text(record)
    return record


@pytest.mark.parametrize("line", BAD_SET_LINES.values(), ids=BAD_SET_LINES.keys())
def test_the_config_form_refuses_a_bad_setting(bob, cluster, guard, topic, line):
    before = config_values(cluster, topic)
    response = bob.post(_form_url(cluster, topic), {"set": line, "reset": ""})
    _assert_refused(response, guard, cluster, topic, before)


@pytest.mark.parametrize("keys", BAD_RESET.values(), ids=BAD_RESET.keys())
def test_the_config_form_refuses_a_bad_reset(bob, cluster, guard, topic, keys):
    before = config_values(cluster, topic)
    response = bob.post(_form_url(cluster, topic), {"set": "", "reset": keys})
    _assert_refused(response, guard, cluster, topic, before)


def test_the_config_form_refuses_setting_and_resetting_one_key(bob, cluster, guard, topic):
    before = config_values(cluster, topic)
    response = bob.post(
        _form_url(cluster, topic), {"set": "retention.ms=1000", "reset": "retention.ms"}
    )
    _assert_refused(response, guard, cluster, topic, before)


API_BODIES = {
    "unknown-key": {"set": {"foo.bar": "1"}},
    "secret": {"set": {"sasl.jaas.config": 'password="hunter2-secret"'}},
    "huge-value": {"set": {"retention.ms": "1" * 200_000}},
    "newline-injection": {"set": {"retention.ms": "1\ncleanup.policy=compact"}},
    "nul-value": {"set": {"retention.ms": "1\x00"}},
    "unicode-digits": {"set": {"retention.ms": "١٢٣"}},
    "null-value": {"set": {"retention.ms": None}},
    "number-not-string-nested": {"set": {"retention.ms": {"v": 1}}},
    "set-as-list": {"set": ["retention.ms=1"]},
    "set-as-string": {"set": "retention.ms=1"},
    "reset-as-string": {"reset": "retention.ms"},
    "reset-as-object": {"reset": {"retention.ms": True}},
    "reset-unknown": {"reset": ["foo.bar"]},
    "reset-objects": {"reset": [{"name": "retention.ms"}]},
    "empty-object": {},
    "both": {"set": {"retention.ms": "1"}, "reset": ["retention.ms"]},
}


@pytest.mark.parametrize("body", API_BODIES.values(), ids=API_BODIES.keys())
def test_the_config_api_refuses_a_bad_body(api, cluster, guard, topic, body):
    before = config_values(cluster, topic)
    response = api.patch(
        _api_url(cluster, topic), json.dumps(body), content_type="application/json"
    )
    _assert_refused(response, guard, cluster, topic, before)
    assert "hunter2-secret" not in response.content.decode()
