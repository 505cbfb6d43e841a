"""The topic list: sorted and paged on the server, sizes and health; a topic's configs with
their real source and the default beside an override (what Tansu cannot report is said)."""

from __future__ import annotations

import uuid

import pytest

from topics import kafka as kafka_client
from topics import reads
from topics.kafka.topic_admin import TopicSummary, _summary
from topics.validation import TopicListQuery, check_topic_list

from .test_views import url

BASE = "/api/clusters/flex-test/topics/"


@pytest.fixture
def family(cluster, make_topic) -> tuple[str, list[str]]:
    """Three topics sharing a prefix: 1, 3 and 2 partitions holding 2, 0 and 5 messages."""
    prefix = f"fam-{uuid.uuid4().hex[:6]}"
    names = [make_topic(f"{prefix}-{c}", partitions=n) for c, n in (("a", 1), ("b", 3), ("c", 2))]
    for name, count in zip(names, (2, 0, 5), strict=True):
        for i in range(count):
            kafka_client.produce(cluster, name, key=None, value=b"%d" % i, headers=[])
    return prefix, names


def names_of(response) -> list[str]:
    return [t["name"] for t in response.json()]


@pytest.mark.parametrize(
    ("sort", "order"),
    [("name", "abc"), ("-name", "cba"), ("partitions", "acb"), ("-messages", "cab")],
)
def test_the_api_sorts_on_the_server(api, family, sort, order):
    prefix, _ = family
    response = api.get(BASE, {"q": prefix, "sort": sort})
    assert response.status_code == 200
    assert names_of(response) == [f"{prefix}-{c}" for c in order]


def test_the_api_pages_with_a_total_and_links(api, family):
    prefix, _ = family
    first = api.get(BASE, {"q": prefix, "per_page": 2})
    assert names_of(first) == [f"{prefix}-a", f"{prefix}-b"]
    assert first["X-Total-Count"] == "3"
    assert 'rel="next"' in first["Link"] and 'rel="prev"' not in first["Link"]

    second = api.get(BASE, {"q": prefix, "per_page": 2, "page": 2})
    assert names_of(second) == [f"{prefix}-c"]
    assert 'rel="prev"' in second["Link"] and 'rel="next"' not in second["Link"]


@pytest.mark.parametrize(
    "params",
    [{"sort": "size; drop"}, {"page": "0"}, {"per_page": "501"}, {"page": "x"}, {"q": "a\x00"}],
)
def test_bad_list_parameters_are_a_400(api, cluster, params):
    response = api.get(BASE, params)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_the_page_sorts_pages_and_says_sizes_are_not_reported(client, bob, family):
    prefix, _ = family
    response = client.get(url("topic-list"), {"q": prefix, "sort": "-partitions", "per_page": 2})
    assert response.status_code == 200
    page = response.context["found"]
    assert [t.name for t in page.rows] == [f"{prefix}-b", f"{prefix}-c"]
    assert (page.total, page.pages) == (3, 2)
    body = response.content.decode()
    assert 'aria-sort="descending"' in body and 'rel="next"' in body
    assert "does not report sizes" in body  # Tansu: no DescribeLogDirs


def test_a_bad_sort_on_the_page_is_a_400_with_a_message(client, bob, cluster):
    response = client.get(url("topic-list"), {"sort": "nope"})
    assert response.status_code == 400
    assert "sort: must be one of" in response.content.decode()


def test_sizes_sort_with_unknown_ones_last(monkeypatch, cluster):
    rows = [
        TopicSummary("x", 1, 1, 0, False, size=None),
        TopicSummary("y", 1, 1, 0, False, size=10),
        TopicSummary("z", 1, 1, 0, False, size=30),
    ]
    monkeypatch.setattr(kafka_client, "list_topics", lambda _cluster: rows)
    for sort, expected in (("size", "yzx"), ("-size", "zyx")):
        query = check_topic_list({"sort": sort}).value
        assert "".join(t.name for t in reads.topic_page(cluster, query).rows) == expected
    assert reads.topic_page(cluster, TopicListQuery()).sizes_known


def test_partition_health_flags_come_from_the_metadata():
    def part(index: int, leader: int, replicas: list[int], isr: list[int]) -> dict:
        return {"partition_index": index, "leader_id": leader, "replica_nodes": replicas,
                "isr_nodes": isr}  # fmt: skip

    healthy = _summary({"name": "h", "partitions": [part(0, 1, [1, 2], [1, 2])]}, {}, None)
    lagging = _summary({"name": "u", "partitions": [part(0, 1, [1, 2], [1])]}, {}, None)
    leaderless = _summary({"name": "o", "partitions": [part(0, -1, [1], [])]}, {}, None)
    assert (healthy.under_replicated, healthy.offline) == (False, False)
    assert (lagging.under_replicated, lagging.offline) == (True, False)
    assert leaderless.offline


def test_a_config_set_at_creation_is_dynamic_with_the_default_beside_it(api, make_topic):
    name = make_topic(configs={"retention.ms": "5000"})
    configs = {c["name"]: c for c in api.get(f"{BASE}{name}/configs/").json()}

    retention = configs["retention.ms"]
    assert retention["value"] == "5000"
    assert retention["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert retention["overridden"] and retention["reported"]
    assert (retention["default"], retention["default_source"]) == ("604800000", "KAFKA_DEFAULT")
    # Tansu lists only what was set; the others are there with Kafka's default, marked so.
    segment = configs["segment.bytes"]
    assert (segment["source"], segment["reported"], segment["overridden"]) == (
        "KAFKA_DEFAULT",
        False,
        False,
    )
    assert len(configs) == len(reads.KAFKA_DEFAULTS)


def test_the_topic_page_shows_the_override_and_its_default(client, bob, make_topic):
    name = make_topic(configs={"cleanup.policy": "compact"})
    response = client.get(url("topic-detail", topic=name))
    body = response.content.decode()
    row = body[body.index("<code>cleanup.policy</code>") :].split("</tr>")[0]
    assert "compact" in row and "DYNAMIC_TOPIC_CONFIG" in row
    assert "<code>delete</code>" in row and "Kafka default" in row
    assert "lists only the configs set on the topic" in body
