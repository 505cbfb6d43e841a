"""The topic pages, signed in through the test client, against Tansu."""

from __future__ import annotations

import html
import time

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from topics import kafka as kafka_client
from topics.models import Cluster

from .conftest import last_record, topic_names


def url(name: str, **kwargs) -> str:
    return reverse(name, kwargs={"cluster": "flex-test", **kwargs})


def test_the_cluster_list_links_each_cluster_to_its_topics(client, bob, cluster):
    response = client.get(reverse("cluster-list"))
    assert response.status_code == 200
    assert url("topic-list").encode() in response.content
    assert b"reachable" in response.content


def test_the_topic_list_shows_partitions_replication_and_message_estimates(
    client, bob, cluster, make_topic
):
    name = make_topic(partitions=2)
    for value in (b"a", b"b", b"c"):
        kafka_client.produce(cluster, name, key=None, value=value, headers=[])
    response = client.get(url("topic-list"), {"q": name})
    assert response.status_code == 200
    [row] = response.context["found"].rows
    assert (row.name, row.partitions, row.replication_factor, row.messages) == (name, 2, 1, 3)
    assert url("topic-detail", topic=name).encode() in response.content


def test_the_search_matches_part_of_the_name_in_any_case(client, bob, cluster, make_topic):
    wanted = make_topic(name=f"Orders-{time.time_ns()}")
    other = make_topic()
    names = [t.name for t in client.get(url("topic-list"), {"q": "orders-"}).context["found"].rows]
    assert wanted in names
    assert other not in names


def test_internal_topics_are_hidden_unless_asked_for(client, bob, cluster, make_topic):
    internal = make_topic(name=f"__internal-{time.time_ns()}")
    hidden = client.get(url("topic-list"))
    assert internal not in [t.name for t in hidden.context["found"].rows]
    assert hidden.context["found"].hidden >= 1
    shown = client.get(url("topic-list"), {"internal": "1"})
    assert internal in [t.name for t in shown.context["found"].rows]


def test_a_cluster_named_by_its_name_redirects_to_its_id(client, bob, cluster):
    response = client.get(reverse("topic-list", kwargs={"cluster": cluster.name}))
    assert response.status_code == 302
    assert response["Location"] == url("topic-list")


def test_listing_topics_needs_authorization_only_and_records_nothing(client, personas, cluster):
    before = AuditRecord.objects.count()
    client.force_login(personas["carol"])  # authorized, no policy at all
    assert client.get(url("topic-list")).status_code == 200
    client.force_login(personas["mallory"])  # outside authorized_roles
    assert client.get(url("topic-list")).status_code == 403
    assert AuditRecord.objects.count() == before


def test_an_unreachable_cluster_is_a_clear_page_not_a_crash(client, bob, db, settings):
    settings.KAFKA_TIMEOUT_MS = 300
    Cluster.objects.create(name="nowhere", bootstrap_servers="127.0.0.1:1")
    response = client.get(reverse("topic-list", kwargs={"cluster": "nowhere"}))
    assert response.status_code == 503
    assert b"nowhere is unreachable" in response.content


def test_the_detail_shows_partitions_offsets_and_masks_secret_configs(
    client, bob, cluster, make_topic
):
    # Tansu keeps any config it is given, so a secret-looking key can be planted directly.
    name = make_topic(partitions=2, configs={"retention.ms": "1000", "ssl.key.password": "hunter2"})
    kafka_client.produce(cluster, name, key=None, value=b"x", headers=[], partition=1)
    response = client.get(url("topic-detail", topic=name))
    assert response.status_code == 200
    partitions = response.context["detail"].partitions
    broker = kafka_client.describe_cluster(cluster)["brokers"][0]["broker_id"]
    assert [(p.partition, p.leader, p.replicas, p.isr) for p in partitions] == [
        (0, broker, [broker], [broker]),
        (1, broker, [broker], [broker]),
    ]
    assert [(p.earliest, p.latest) for p in partitions] == [(0, 0), (0, 1)]
    configs = {c["name"]: c["value"] for c in response.context["configs"] if c["reported"]}
    assert configs == {"retention.ms": "1000", "ssl.key.password": "[hidden]"}
    assert b"hunter2" not in response.content


def test_an_unknown_topic_page_is_a_404_and_does_not_create_it(client, bob, cluster, new_name):
    name = new_name("missing")
    response = client.get(url("topic-detail", topic=name))
    assert response.status_code == 404
    assert b"does not exist" in response.content
    assert name not in topic_names(cluster)


def test_a_topic_is_created_through_the_page(client, bob, cluster, allow, new_name):
    allow(["TOPIC_CREATE"])
    name = new_name()
    response = client.post(
        url("topic-create"),
        {
            "name": name,
            "partitions": "2",
            "replication_factor": "1",
            "configs": "retention.ms=5000",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url("topic-detail", topic=name)
    detail = kafka_client.describe_topic(cluster, name)
    assert len(detail.partitions) == 2
    assert {c.name: c.value for c in detail.configs} == {"retention.ms": "5000"}
    record = last_record()
    assert (record.event, record.outcome) == ("mutation/create-topic", "succeeded")
    assert record.document["ctx"]["via"] == "ui"


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        ({"name": "bad name!"}, "invalid_request", "1 to 249 characters"),
        ({"name": ".."}, "invalid_request", "'.' or '..'"),
        ({"name": "x" * 250}, "invalid_request", "1 to 249 characters"),
        ({"partitions": "0"}, "invalid_request", "partitions"),
        ({"partitions": "10001"}, "invalid_request", "partitions"),
        ({"replication_factor": "2"}, "invalid_request", "replication_factor"),
        ({"configs": "retention.msx=1"}, "invalid_config", "'retention.msx' is not a topic config"),
        ({"configs": "retention.ms=soon"}, "invalid_config", "must be a whole number"),
        ({"configs": "cleanup.policy=shred"}, "invalid_config", "cleanup.policy must list"),
    ],
)
def test_bad_create_input_is_refused_recorded_and_creates_nothing(
    client, bob, cluster, allow, new_name, data, code, message
):
    allow(["TOPIC_CREATE"])
    name = new_name()
    form = {"name": name, "partitions": "1", "replication_factor": "1", "configs": "", **data}
    response = client.post(url("topic-create"), form)
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    record = last_record()
    assert (record.event, record.outcome) == ("mutation/create-topic", "failed")
    assert message in record.document["data"]["response"]["error"]
    assert response.context["outcome"].code == code
    assert form["name"] not in topic_names(cluster)


def test_creating_a_topic_that_exists_says_so(client, bob, cluster, allow, make_topic):
    allow(["TOPIC_CREATE"])
    name = make_topic()
    response = client.post(
        url("topic-create"), {"name": name, "partitions": "1", "replication_factor": "1"}
    )
    assert response.status_code == 409
    assert b"already exists" in response.content
    assert last_record().outcome == "failed"


def test_a_denied_create_shows_not_allowed(client, personas, cluster, new_name):
    client.force_login(personas["carol"])
    name = new_name()
    response = client.post(
        url("topic-create"), {"name": name, "partitions": "1", "replication_factor": "1"}
    )
    assert response.status_code == 403
    assert b"Not allowed" in response.content
    assert last_record().outcome == "denied"
    assert name not in topic_names(cluster)


def test_the_config_preview_shows_before_and_after_and_changes_nothing(
    client, bob, cluster, allow, make_topic
):
    allow(["TOPIC_EDIT"])
    name = make_topic(configs={"retention.ms": "1000", "cleanup.policy": "delete"})
    before = AuditRecord.objects.count()
    response = client.get(
        url("topic-configs", topic=name),
        {"preview": "1", "set": "retention.ms=2000\nsegment.ms=600000", "reset": "cleanup.policy"},
    )
    assert response.status_code == 200
    assert response.context["changes"] == [
        {"name": "retention.ms", "before": "1000", "after": "2000"},
        {"name": "segment.ms", "before": None, "after": "600000"},
        {"name": "cleanup.policy", "before": "delete", "after": None},
    ]
    assert AuditRecord.objects.count() == before
    assert kafka_client.topic_configs(cluster, name)["retention.ms"].value == "1000"


def test_configs_are_changed_incrementally_on_confirm(client, bob, cluster, allow, make_topic):
    allow(["TOPIC_EDIT"])
    name = make_topic(configs={"retention.ms": "1000", "segment.ms": "700000"})
    response = client.post(
        url("topic-configs", topic=name), {"set": "retention.ms=2000", "reset": ""}
    )
    assert response.status_code == 302
    configs = {k: e.value for k, e in kafka_client.topic_configs(cluster, name).items()}
    assert configs == {"retention.ms": "2000", "segment.ms": "700000"}
    assert last_record().document["data"]["event"][1]["previous-config-items"] == {
        "retention.ms": "1000"
    }


def test_an_unknown_config_key_is_refused_on_edit(client, bob, cluster, allow, make_topic):
    allow(["TOPIC_EDIT"])
    name = make_topic()
    response = client.post(url("topic-configs", topic=name), {"set": "retention=1"})
    assert response.status_code == 400
    assert response.context["outcome"].code == "invalid_config"
    assert last_record().outcome == "failed"
    assert kafka_client.topic_configs(cluster, name) == {}


def test_produced_messages_read_back_as_json_text_and_hex(client, bob, cluster, allow, make_topic):
    allow(["TOPIC_PRODUCE", "TOPIC_INSPECT"])
    name = make_topic()
    for value in ('{"a": [1, 2]}', "plain text", "<script>alert(1)</script>"):
        response = client.post(
            url("topic-produce", topic=name),
            {"key": "k1", "value": value, "headers": "trace: t-1", "partition": "0"},
        )
        assert response.status_code == 200
        assert response.context["written"]["partition"] == 0
    kafka_client.produce(cluster, name, key=None, value=b"\x00\xff\x10", headers=[])
    response = client.get(url("topic-messages", topic=name), {"mode": "latest", "limit": "10"})
    assert response.status_code == 200
    shown = [(m["value"]["format"], m["value"]["text"]) for m in response.context["messages_read"]]
    assert shown == [  # the latest: newest first
        ("hex", "00 ff 10"),
        ("text", "<script>alert(1)</script>"),
        ("text", "plain text"),
        ("json", '{\n  "a": [\n    1,\n    2\n  ]\n}'),
    ]
    first = response.context["messages_read"][-1]
    assert first["key"]["text"] == "k1"
    assert first["headers"] == [
        {"name": "trace", "value": {"format": "text", "text": "t-1", "size": 3, "truncated": False}}
    ]
    text = response.content.decode()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    record = last_record()
    assert (record.type, record.event, record.outcome) == (
        "query/request",
        "query/inspect-topic-data",
        "succeeded",
    )


def test_reading_from_an_offset_and_from_a_time(client, bob, cluster, allow, make_topic):
    allow(["TOPIC_INSPECT"])
    name = make_topic(partitions=2)
    for i in range(6):
        kafka_client.produce(
            cluster, name, key=None, value=str(i).encode(), headers=[], partition=i % 2
        )
        time.sleep(0.005)
    page = client.get(
        url("topic-messages", topic=name),
        {"mode": "offset", "partition": "1", "offset": "1", "limit": "5"},
    )
    assert [(m["partition"], m["offset"]) for m in page.context["messages_read"]] == [
        (1, 1),
        (1, 2),
    ]
    third = kafka_client.read_messages(
        cluster, name, kafka_client.ReadQuery(mode="offset", partition=0, offset=1, limit=1)
    ).messages[0]
    page = client.get(
        url("topic-messages", topic=name),
        {"mode": "timestamp", "timestamp": str(third.timestamp), "limit": "2"},
    )
    values = [m["value"]["text"] for m in page.context["messages_read"]]
    assert values == ["2", "3"]


def test_reading_more_than_500_is_refused_and_recorded(client, bob, cluster, allow, make_topic):
    allow(["TOPIC_INSPECT"])
    name = make_topic()
    response = client.get(url("topic-messages", topic=name), {"mode": "latest", "limit": "501"})
    assert response.status_code == 400
    record = last_record()
    assert (record.event, record.outcome) == ("query/inspect-topic-data", "failed")
    assert record.document["data"]["event"][1]["limit"] == "501"


def test_a_message_over_the_limit_is_refused_and_recorded_by_size(
    client, bob, cluster, allow, make_topic, settings
):
    settings.FLEX_PRODUCE_MAX_BYTES = 100
    allow(["TOPIC_PRODUCE"])
    name = make_topic()
    response = client.post(url("topic-produce", topic=name), {"key": "", "value": "v" * 101})
    assert response.status_code == 413
    assert b"at most 100 bytes" in response.content
    record = last_record()
    assert (record.outcome, record.document["data"]["event"][1]["value"]["size"]) == ("failed", 101)
    assert kafka_client.describe_topic(cluster, name).messages == 0


def test_delete_needs_the_topic_name_typed(client, bob, cluster, allow, make_topic):
    allow(["TOPIC_DELETE"])
    name = make_topic()
    response = client.post(url("topic-delete", topic=name), {"confirm": "something else"})
    assert response.status_code == 400
    assert name in topic_names(cluster)
    assert last_record().outcome == "failed"
    response = client.post(url("topic-delete", topic=name), {"confirm": name})
    assert response.status_code == 302
    assert response["Location"] == url("topic-list")
    assert name not in topic_names(cluster)
    assert (last_record().event, last_record().outcome) == ("mutation/delete-topic", "succeeded")


def test_truncate_says_the_cluster_does_not_support_it(client, bob, cluster, allow, make_topic):
    allow(["TOPIC_TRUNCATE"])
    name = make_topic()
    response = client.post(url("topic-truncate", topic=name), {"confirm": name})
    assert response.status_code == 400
    assert b"not supported by this cluster" in response.content
    record = last_record()
    assert (record.event, record.outcome) == ("mutation/truncate-topic", "failed")


def test_controls_for_actions_not_allowed_are_disabled(client, bob, cluster, allow, make_topic):
    allow(["TOPIC_INSPECT"])
    name = make_topic()
    page = client.get(url("topic-detail", topic=name))
    assert page.context["can"] == {
        "inspect": True,
        "download": False,
        "produce": False,
        "edit": False,
        "delete": False,
        "truncate": False,
    }
    text = page.content.decode()
    assert url("topic-messages", topic=name) in text
    assert url("topic-delete", topic=name) not in text
    assert 'title="TOPIC_DELETE is not allowed"' in text
    listing = client.get(url("topic-list"))
    assert listing.context["can_create"] is False
    assert url("topic-create") not in listing.content.decode()


def test_a_prefix_create_policy_offers_the_create_button(client, bob, cluster, allow):
    allow(["TOPIC_CREATE"], resource=["cluster", "flex-test", "topic", "tx-*"])
    assert client.get(url("topic-list")).context["can_create"] is True


def test_the_server_refuses_what_the_page_hides(client, bob, cluster, allow, make_topic):
    allow(["TOPIC_INSPECT"])
    name = make_topic()
    response = client.post(url("topic-delete", topic=name), {"confirm": name})
    assert response.status_code == 403
    assert name in topic_names(cluster)
    assert last_record().outcome == "denied"
