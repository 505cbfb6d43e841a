"""Hostile input to the consumer-group pages and API: bodies of the wrong shape, group ids
that are payloads (NUL, unicode, script, SQL, huge) in URLs.

Each answers below 500, leaves exactly one record when it reaches an operation, escapes
what it shows, and moves no offset and creates no group on Tansu.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from rbac import engine
from rbac.models import Policy
from tests.hostile.support import XSS_IMG, assert_escaped, body_text, document_text
from tests.hostile.test_api_bodies import BAD_BODIES
from tests.hostile.test_paths import PATH_NAMES
from tests.topics.groups import commit, committed, new_group
from topics import kafka as kafka_client


@pytest.fixture
def groups_allowed(db) -> None:
    Policy.objects.create(
        resource=["cluster", "*"],
        effect=Policy.ALLOW,
        actions=["GROUP_EDIT", "GROUP_DELETE"],
        roles=["platform"],
    )
    engine.invalidate()


@pytest.fixture
def topic(planted, guard) -> str:
    name = planted(partitions=2)
    guard.reset()
    return name


@pytest.fixture
def group(cluster, topic) -> str:
    name = new_group("hostile")
    commit(cluster, name, {(topic, 0): 0, (topic, 1): 0})
    return name


JSON = "application/json"


def _group_ids(cluster) -> set[str]:
    return {g.group_id for g in kafka_client.list_groups(cluster)}


@pytest.mark.parametrize(("body", "content_type"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_resetting_with_a_bad_body_is_refused(
    api, groups_allowed, cluster, guard, topic, group, body, content_type
):
    before = committed(cluster, group)
    url = f"/api/clusters/{cluster.key}/groups/{group}/offsets/"
    response = api.generic("POST", url, body, content_type=content_type)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert set(response.json()) >= {"error", "detail"}
    [record] = guard.check(response, records=1, outcome="failed")
    assert record.event in ("query/preview-group-offsets", "mutation/reset-group-offsets")
    assert committed(cluster, group) == before


ACTIONS = {
    "page-reset": ("post", "/clusters/{c}/groups/{g}/reset/", {"to": "earliest"}, False),
    "page-delete": ("post", "/clusters/{c}/groups/{g}/delete/", {"confirm": "x"}, False),
    "api-reset": ("post", "/api/clusters/{c}/groups/{g}/offsets/", {"to": "earliest"}, True),
    "api-delete": ("delete", "/api/clusters/{c}/groups/{g}/", {}, True),
}


@pytest.mark.parametrize("action", ACTIONS.values(), ids=ACTIONS.keys())
@pytest.mark.parametrize("name", PATH_NAMES.values(), ids=PATH_NAMES.keys())
def test_a_hostile_group_path_is_answered_and_recorded_once(
    api, groups_allowed, cluster, guard, topic, suffix, name, action
):
    method, path, data, is_api = action
    group = name.format(s=suffix)
    url = path.format(c=cluster.key, g=quote(group, safe=""))
    groups_before = _group_ids(cluster)
    body = {**data, "topic": topic}
    if is_api:
        response = api.generic(method.upper(), url, json.dumps(body), content_type=JSON)
    else:
        response = api.post(url, body)
    if group in (".", "..") and guard.count_new() == 0:
        # Resolved away by URL normalisation (a page): no endpoint, nothing recorded.
        assert response.status_code == 404
        guard.check(response, records=0)
        return
    assert response.status_code < 500, response.status_code
    [record] = guard.check(response, records=1)
    assert "\x00" not in record.resource_name and "\x00" not in document_text(record)
    if "\x00" in group:
        assert response.status_code == 400
    assert _group_ids(cluster) == groups_before  # a preview or a refusal creates no group


@pytest.mark.parametrize("name", PATH_NAMES.values(), ids=PATH_NAMES.keys())
def test_a_hostile_group_page_is_a_clean_404(bob, cluster, guard, suffix, name):
    group = name.format(s=suffix)
    response = bob.get(f"/clusters/{cluster.key}/groups/{quote(group, safe='')}/")
    assert response.status_code == 404
    guard.check(response, records=0)
    assert_escaped(body_text(response), shown=False)


def test_a_payload_named_group_is_shown_escaped(bob, cluster, topic):
    name = XSS_IMG + new_group("x")
    commit(cluster, name, {(topic, 0): 0})
    page = bob.get(f"/clusters/{cluster.key}/groups/{quote(name, safe='')}/")
    assert page.status_code == 200
    assert_escaped(body_text(page), name)
    # Tansu lists such an id percent-encoded (%22%3E…): the list shows the search, escaped.
    listed = body_text(bob.get(f"/clusters/{cluster.key}/groups/", {"q": name}))
    assert_escaped(listed, name)
