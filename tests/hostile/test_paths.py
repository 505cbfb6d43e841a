"""Hostile topic and cluster names in URLs (NUL, unicode, payloads, SQL, dots, huge), and
hostile query parameters for reading messages.

Every unsafe request reaches the view and names a topic that does not exist: 4xx, one
record (the resource kept as text, NUL replaced), nothing created or deleted on Tansu.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.hostile.support import SQL_PAYLOADS, XSS_IMG, document_text

PATH_NAMES = {
    "nul": "t\x00{s}",
    "unicode": "тема-{s}",
    "emoji": "🔥{s}",
    "img-payload": XSS_IMG + "{s}",
    "sql": SQL_PAYLOADS[0] + "{s}",
    "dot": ".",
    "dotdot": "..",
    "long": "x" * 300 + "{s}",
    "percent": "%25{s}",
    "rtl": "\u202e{s}",
}

FORM_ACTIONS = {
    "delete": ("delete", {"confirm": "whatever"}),
    "truncate": ("truncate", {"confirm": "whatever"}),
    "produce": ("produce", {"value": "v"}),
    "configs": ("configs", {"set": "retention.ms=1"}),
}


def _path_part(name: str) -> str:
    return quote(name, safe="")


@pytest.mark.parametrize("action", FORM_ACTIONS.values(), ids=FORM_ACTIONS.keys())
@pytest.mark.parametrize("name", PATH_NAMES.values(), ids=PATH_NAMES.keys())
def test_a_form_post_to_a_hostile_topic_path_is_refused_and_recorded(
    bob, cluster, guard, suffix, name, action
):
    tail, data = action
    topic = name.format(s=suffix)
    response = bob.post(f"/clusters/{cluster.key}/topics/{_path_part(topic)}/{tail}/", data)
    assert 400 <= response.status_code < 500, response.status_code
    [record] = guard.check(response, records=1)
    assert record.outcome in ("failed", "denied")
    assert "\x00" not in record.resource_name and "\x00" not in document_text(record)


API_ACTIONS = {
    "delete": ("delete", "", {}),
    "truncate": ("post", "/truncate", {}),
    "produce": ("post", "/messages", {"value": "v"}),
    "configs": ("patch", "/configs", {"set": {"retention.ms": "1"}}),
}


@pytest.mark.parametrize("action", API_ACTIONS.values(), ids=API_ACTIONS.keys())
@pytest.mark.parametrize("name", PATH_NAMES.values(), ids=PATH_NAMES.keys())
def test_an_api_call_on_a_hostile_topic_path_is_refused_and_recorded(
    api, cluster, guard, suffix, name, action
):
    method, tail, body = action
    topic = name.format(s=suffix)
    url = f"/api/clusters/{cluster.key}/topics/{_path_part(topic)}{tail}"
    response = getattr(api, method)(url, json.dumps(body), content_type="application/json")
    if response.status_code == 404 and "audit_record" not in response.json():
        # "." and ".." are resolved away by URL normalisation: no endpoint, nothing recorded.
        assert topic in (".", "..")
        guard.check(response, records=0)
        return
    assert 400 <= response.status_code < 500, response.status_code
    [record] = guard.check(response, records=1)
    assert record.outcome in ("failed", "denied")


@pytest.mark.parametrize("name", ["<x>", "a\x00b", "' OR 1=1 --", "кластер"])
def test_creating_a_topic_on_a_hostile_cluster_path_is_refused_and_recorded(
    bob, cluster, guard, suffix, name
):
    response = bob.post(
        f"/clusters/{_path_part(name)}/create-topic/",
        {"name": f"ok-{suffix}", "partitions": "1", "replication_factor": "1"},
    )
    assert response.status_code == 404
    [record] = guard.check(response, records=1, outcome="failed")
    assert "\x00" not in document_text(record)


READ_PARAMS = {
    "mode-sql": {"mode": "' OR 1=1 --"},
    "limit-sql": {"limit": "1; DROP TABLE audit_auditrecord"},
    "limit-huge": {"limit": "9" * 40},
    "limit-zero": {"limit": "0"},
    "partition-negative": {"mode": "offset", "partition": "-1", "offset": "0"},
    "offset-letters": {"mode": "offset", "partition": "0", "offset": "abc"},
    "offset-missing": {"mode": "offset", "partition": "0"},
    "timestamp-garbage": {"mode": "timestamp", "timestamp": "' OR 1=1 --"},
    "timestamp-huge": {"mode": "timestamp", "timestamp": "9" * 40},
    "timestamp-nul": {"mode": "timestamp", "timestamp": "2025\x00"},
}


@pytest.mark.parametrize("params", READ_PARAMS.values(), ids=READ_PARAMS.keys())
def test_reading_messages_with_hostile_parameters_is_refused_and_recorded(
    api, cluster, guard, planted, params
):
    topic = planted()
    guard.reset()
    url = f"/api/clusters/{cluster.key}/topics/{topic}/messages"
    response = api.get(url, params)
    assert response.status_code == 400, response.content[:300]
    [record] = guard.check(response, records=1, outcome="failed")
    assert record.event == "query/inspect-topic-data"
    form = {"mode": "latest", "limit": "50", **params}
    page = api.get(f"/clusters/{cluster.key}/topics/{topic}/messages/", form)
    assert page.status_code == 400
    guard.check(page, records=1, outcome="failed")


GET_PAGES = {
    "topic-list": "/clusters/{c}/topics/",
    "topic-detail": "/clusters/{c}/topics/{t}/",
    "topic-messages": "/clusters/{c}/topics/{t}/messages/?mode=latest&limit=5",
    "topic-configs": "/clusters/{c}/topics/{t}/configs/",
    "api-topics": "/api/clusters/{c}/topics",
    "api-topic": "/api/clusters/{c}/topics/{t}",
    "api-configs": "/api/clusters/{c}/topics/{t}/configs",
}
GET_NAMES = {"nul": "a\x00b", "img-payload": XSS_IMG, "sql": SQL_PAYLOADS[1], "unicode": "ü"}


@pytest.mark.parametrize("page", GET_PAGES.values(), ids=GET_PAGES.keys())
@pytest.mark.parametrize("name", GET_NAMES.values(), ids=GET_NAMES.keys())
def test_reading_a_page_with_a_hostile_cluster_or_topic_path_is_a_clear_answer(
    api, cluster, guard, name, page
):
    part = _path_part(name)
    for url in (page.format(c=part, t="t"), page.format(c=cluster.key, t=part)):
        response = api.get(url)
        assert response.status_code < 500, (url, response.status_code)
    guard.check(response, records=len(guard.new_records()))  # reads: no topic changed
