"""Script payloads in topic names, message values, user names, roles and policies, rendered on
every page: each appears escaped (as text), never raw. ``test_browser`` then opens a set of
these pages in Chromium to prove no dialog opens.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditRecord
from tests.hostile import world as hostile_world
from tests.hostile.support import XSS_IMG, XSS_SCRIPT, XSS_SVG, assert_escaped, body_text


@pytest.fixture
def world(personas, cluster, planted, suffix, settings) -> hostile_world.World:
    settings.KAFKA_TIMEOUT_MS = 500  # the payload-named cluster is unreachable
    return hostile_world.build(cluster=cluster, plant=planted, suffix=suffix)


def _topic(w: hostile_world.World, name: str, topic: str | None = None) -> str:
    return reverse(name, kwargs={"cluster": w.cluster.key, "topic": topic or w.topic})


def _get(path: Callable, params: dict | None = None):
    return lambda w: w.client.get(path(w), params or {})


def _post(path: Callable, data: dict | Callable):
    return lambda w: w.client.post(path(w), data(w) if callable(data) else data)


# page -> (request, payloads the page must show escaped, expected status)
PAGES = {
    "cluster-list": (_get(lambda w: reverse("cluster-list")), [XSS_SCRIPT, XSS_IMG], 200),
    "topic-list": (
        _get(lambda w: reverse("topic-list", kwargs={"cluster": w.cluster.key})),
        [XSS_IMG],
        200,
    ),
    "topic-list-search": (
        _get(lambda w: reverse("topic-list", kwargs={"cluster": w.cluster.key}), {"q": XSS_SVG}),
        [XSS_SVG],
        200,
    ),
    "topic-detail": (_get(lambda w: _topic(w, "topic-detail")), [XSS_IMG], 200),
    "topic-messages": (
        _get(
            lambda w: _topic(w, "topic-messages", topic=w.messages_topic),
            {"mode": "latest", "limit": "50"},
        ),
        [XSS_SCRIPT, XSS_IMG, XSS_SVG],
        200,
    ),
    "topic-messages-unreadable-name": (
        _get(lambda w: _topic(w, "topic-messages"), {"mode": "latest", "limit": "50"}),
        [XSS_IMG],
        400,
    ),
    "topic-messages-bad-query": (
        _get(lambda w: _topic(w, "topic-messages"), {"mode": XSS_SCRIPT, "limit": XSS_IMG}),
        [XSS_IMG],
        400,
    ),
    "topic-produce": (_get(lambda w: _topic(w, "topic-produce")), [XSS_IMG], 200),
    "topic-produce-refused": (
        _post(
            lambda w: _topic(w, "topic-produce"),
            {"key": XSS_SVG, "value": XSS_SCRIPT, "headers": XSS_IMG, "partition": XSS_SVG},
        ),
        [XSS_SVG, XSS_SCRIPT, XSS_IMG],
        400,
    ),
    "topic-configs": (_get(lambda w: _topic(w, "topic-configs")), [XSS_IMG], 200),
    "topic-configs-preview": (
        _get(lambda w: _topic(w, "topic-configs"), {"preview": "1", "set": f"{XSS_SCRIPT}=1"}),
        [XSS_SCRIPT],
        200,
    ),
    "topic-configs-refused": (
        _post(lambda w: _topic(w, "topic-configs"), {"set": f"{XSS_SCRIPT}={XSS_IMG}"}),
        [XSS_SCRIPT],
        400,
    ),
    "topic-delete-confirm": (_get(lambda w: _topic(w, "topic-delete")), [XSS_IMG], 200),
    "topic-delete-mistyped": (
        _post(lambda w: _topic(w, "topic-delete"), {"confirm": XSS_SCRIPT}),
        [XSS_IMG, XSS_SCRIPT],
        400,
    ),
    "topic-truncate-confirm": (_get(lambda w: _topic(w, "topic-truncate")), [XSS_IMG], 200),
    "topic-create-refused": (
        _post(
            lambda w: reverse("topic-create", kwargs={"cluster": w.cluster.key}),
            {"name": XSS_IMG, "partitions": XSS_SCRIPT, "replication_factor": "1"},
        ),
        [XSS_IMG, XSS_SCRIPT],
        400,
    ),
    "topic-of-unknown-cluster": (
        _get(lambda w: reverse("topic-produce", kwargs={"cluster": XSS_IMG, "topic": XSS_SVG})),
        [XSS_IMG, XSS_SVG],
        200,
    ),
    "audit-log": (_get(lambda w: reverse("audit-log")), [XSS_SCRIPT, XSS_IMG], 200),
    "audit-log-filtered": (
        _get(lambda w: reverse("audit-log"), {"user": XSS_SCRIPT, "resource": XSS_IMG}),
        [XSS_SCRIPT, XSS_IMG],
        200,
    ),
    "audit-log-refused-filter": (
        _get(lambda w: reverse("audit-log"), {"action": XSS_SCRIPT, "since": XSS_IMG}),
        [XSS_SCRIPT.upper(), XSS_IMG],
        400,
    ),
    "audit-record": (
        _get(lambda w: reverse("audit-record", kwargs={"record_id": w.record.id})),
        [XSS_SCRIPT, XSS_IMG, XSS_SVG + "@evil.example"],
        200,
    ),
    "user-log": (_get(lambda w: reverse("user-log")), [XSS_SCRIPT, XSS_IMG, XSS_SVG], 200),
    "user-record": (
        _get(lambda w: reverse("user-record", kwargs={"record_id": w.record.id})),
        [XSS_SCRIPT, XSS_IMG],
        200,
    ),
    "simulator": (_get(lambda w: reverse("policy-simulate")), [XSS_SVG], 200),
    "simulator-decision": (
        _post(
            lambda w: reverse("policy-simulate"),
            lambda w: {
                "user": str(w.user.pk),
                "roles": "",
                "action": "TOPIC_DELETE",
                "cluster": w.cluster.key,
                "topic": XSS_IMG,
            },
        ),
        [XSS_IMG, XSS_SVG, hostile_world.EVIL_GROUP],
        200,
    ),
    "simulator-refused": (
        _post(
            lambda w: reverse("policy-simulate"),
            {"user": XSS_SCRIPT, "roles": XSS_IMG, "action": XSS_SVG, "cluster": ""},
        ),
        [XSS_SVG],
        400,
    ),
}


@pytest.mark.parametrize(("send", "shown", "status"), PAGES.values(), ids=PAGES.keys())
def test_a_page_shows_hostile_data_as_text(world, send, shown, status):
    before = AuditRecord.objects.count()
    response = send(world)
    assert response.status_code == status, body_text(response)[:500]
    assert_escaped(body_text(response), *shown)
    for payload in (XSS_SCRIPT, XSS_IMG, XSS_SVG):
        assert payload not in body_text(response)
    if response.request["REQUEST_METHOD"] == "POST":
        assert AuditRecord.objects.count() == before + 1  # every POST here is recorded once


def test_the_page_header_shows_a_hostile_first_name_as_text(world):
    page = body_text(world.client.get(reverse("user-log")))
    assert_escaped(page, XSS_IMG)
    assert f'<span class="user">{XSS_IMG}' not in page


def test_the_sign_in_page_keeps_a_hostile_next_as_text(db, settings):
    settings.FLEX_LOCAL_LOGIN = True
    page = Client().get(reverse("login"), {"next": XSS_IMG})
    assert page.status_code == 200
    assert_escaped(body_text(page), XSS_IMG)


API_READS = {
    "topics": lambda w: f"/api/clusters/{w.cluster.key}/topics",
    "topic": lambda w: f"/api/clusters/{w.cluster.key}/topics/{w.topic}",
    "messages": lambda w: f"/api/clusters/{w.cluster.key}/topics/{w.messages_topic}/messages",
    "clusters": lambda w: "/api/clusters",
    "audit": lambda w: "/api/audit/",
    "audit-record": lambda w: f"/api/audit/{w.record.id}/",
}


@pytest.mark.parametrize("path", API_READS.values(), ids=API_READS.keys())
def test_the_api_answers_hostile_data_as_json_a_browser_will_not_sniff(world, path):
    response = world.client.get(path(world))
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert XSS_IMG in str(response.json()) or XSS_SCRIPT in str(response.json())


UNLINKABLE = {"slash-script": XSS_SCRIPT, "slash": "a/b/", "empty": ""}


@pytest.mark.parametrize("name", UNLINKABLE.values(), ids=UNLINKABLE.keys())
def test_a_topic_whose_name_no_url_can_carry_is_listed_not_a_500(
    bob, cluster, planted, suffix, name
):
    full = planted(name + suffix if name else name)
    response = bob.get(reverse("topic-list", kwargs={"cluster": cluster.key}))
    assert response.status_code == 200
    page = body_text(response)
    assert html.escape(full) in page
    assert_escaped(page)  # no payload reaches the markup raw
    assert "the name cannot be part of a URL" in page
