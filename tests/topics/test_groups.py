"""Consumer groups through Flex's Kafka seam, on the real broker with real consumers:
describing live groups, lag, every reset mode's plan, applying it, refusing active groups,
deleting."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient

from lib.errors import InvalidRequest
from tests.topics.groups import commit, committed, member, new_group, produce_each, read
from topics import kafka as kafka_client
from topics.kafka import ResetSpec


def _plan(cluster, group, topic, to, value=None, partitions=None) -> dict:
    spec = ResetSpec(topic, partitions, to, value)
    return {
        (c.partition): (c.before, c.after) for c in kafka_client.plan_reset(cluster, group, spec)
    }


def test_the_plain_client_still_fails_to_describe_groups_on_tansu(cluster, group):
    """Why Flex's admin client drops the ACL operations: when this stops failing, the
    work-around in topics/kafka/client.py can go."""
    plain = KafkaAdminClient(**kafka_client.client_options(cluster))
    try:
        with pytest.raises(ValueError, match="is not a valid ACLOperation"):
            plain.describe_groups([group])
    finally:
        plain.close()


def test_it_describes_a_live_group_with_its_member(cluster, topic):
    name = new_group()
    with member(cluster, name, topic):
        found = kafka_client.describe_group(cluster, name)
        assert found.state == "Stable"
        [one] = found.members
        assert one.member_id  # Tansu: "<client id>-<uuid>", client id and host empty
        [summary] = [g for g in kafka_client.list_groups(cluster) if g.group_id == name] or [None]
    # Tansu lists only groups with committed offsets; this one committed none.
    assert summary is None or len(summary.members) == 1


def test_lag_appears_and_shrinks_as_a_consumer_catches_up(cluster, make_topic):
    topic = make_topic()
    produce_each(cluster, topic, {0: 5})
    name = new_group()
    with member(cluster, name, topic) as consumer:
        read(consumer, 2)
        consumer.commit()
        found = kafka_client.describe_group(cluster, name)
        assert [(r.committed, r.end, r.lag) for r in found.offsets] == [(2, 5, 3)]
        assert found.lag == 3
        read(consumer, 3)
        consumer.commit()
        assert kafka_client.describe_group(cluster, name).lag == 0
    produce_each(cluster, topic, {0: 4})
    [listed] = [g for g in kafka_client.list_groups(cluster) if g.group_id == name]
    assert (listed.lag, listed.topics, listed.members) == (4, [topic], ())
    [on_topic] = kafka_client.list_groups(cluster, topic=topic)
    assert (on_topic.group_id, on_topic.topic_lag(topic)) == (name, 4)


def test_an_unknown_group_is_unknown(cluster):
    with pytest.raises(kafka_client.UnknownGroup):
        kafka_client.describe_group(cluster, new_group("nobody"))


def test_each_mode_plans_exactly_clamped_at_both_ends(cluster, group, topic):
    t = topic
    assert _plan(cluster, group, t, "earliest") == {0: (2, 0), 1: (1, 0)}
    assert _plan(cluster, group, t, "latest") == {0: (2, 5), 1: (1, 3)}
    assert _plan(cluster, group, t, "offset", 4) == {0: (2, 4), 1: (1, 3)}
    assert _plan(cluster, group, t, "offset", 0) == {0: (2, 0), 1: (1, 0)}
    assert _plan(cluster, group, t, "shift", 2) == {0: (2, 4), 1: (1, 3)}
    assert _plan(cluster, group, t, "shift", 10) == {0: (2, 5), 1: (1, 3)}
    assert _plan(cluster, group, t, "shift", -2) == {0: (2, 0), 1: (1, 0)}
    assert _plan(cluster, group, t, "shift", -1) == {0: (2, 1), 1: (1, 0)}
    assert _plan(cluster, group, t, "latest", partitions=(1,)) == {1: (1, 3)}
    assert committed(cluster, group) == {(t, 0): 2, (t, 1): 1}  # a plan moves nothing


def test_a_time_plans_the_first_offset_appended_at_or_after_it(cluster, make_topic):
    topic = make_topic()
    produce_each(cluster, topic, {0: 3})
    time.sleep(0.3)
    between = int(time.time() * 1000)
    time.sleep(0.3)
    produce_each(cluster, topic, {0: 2})
    name = new_group()
    commit(cluster, name, {(topic, 0): 1})
    assert _plan(cluster, name, topic, "timestamp", between) == {0: (1, 3)}
    assert _plan(cluster, name, topic, "timestamp", 0) == {0: (1, 0)}
    future = int(time.time() * 1000) + 3_600_000
    assert _plan(cluster, name, topic, "timestamp", future) == {0: (1, 5)}


def test_a_plan_names_real_partitions_of_a_real_topic(cluster, group, topic):
    with pytest.raises(InvalidRequest, match="no partition 7"):
        _plan(cluster, group, topic, "earliest", partitions=(0, 7))
    with pytest.raises(kafka_client.UnknownTopic):
        _plan(cluster, group, topic + "-missing", "earliest")


def test_shifting_a_partition_without_a_committed_offset_is_refused(cluster, topic):
    name = new_group()
    commit(cluster, name, {(topic, 0): 1})
    with pytest.raises(InvalidRequest, match="no committed offset"):
        _plan(cluster, name, topic, "shift", 1)
    assert _plan(cluster, name, topic, "earliest") == {0: (1, 0), 1: (None, 0)}


def test_an_applied_reset_is_where_the_next_consumer_reads_from(cluster, group, topic):
    spec = ResetSpec(topic, (0,), "offset", 3)
    changes = kafka_client.reset_offsets(cluster, group, spec)
    assert [(c.partition, c.before, c.after) for c in changes] == [(0, 2, 3)]
    assert committed(cluster, group) == {(topic, 0): 3, (topic, 1): 1}
    with member(cluster, group, topic) as consumer:
        got = sorted((r.partition, r.offset) for r in read(consumer, 4))
    assert got == [(0, 3), (0, 4), (1, 1), (1, 2)]


def test_an_active_group_is_refused_a_reset_and_a_deletion(cluster, group, topic):
    with member(cluster, group, topic):
        spec = ResetSpec(topic, None, "earliest", None)
        with pytest.raises(kafka_client.GroupActive):
            kafka_client.plan_reset(cluster, group, spec)
        with pytest.raises(kafka_client.GroupActive):
            kafka_client.reset_offsets(cluster, group, spec)
        with pytest.raises(kafka_client.GroupActive):
            kafka_client.delete_group(cluster, group)
    assert committed(cluster, group) == {(topic, 0): 2, (topic, 1): 1}


def test_deleting_an_empty_group_removes_it_and_answers_its_offsets(cluster, group, topic):
    changes = kafka_client.delete_group(cluster, group)
    assert [(c.partition, c.before, c.after) for c in changes] == [(0, 2, None), (1, 1, None)]
    assert group not in {g.group_id for g in kafka_client.list_groups(cluster)}
    with pytest.raises(kafka_client.UnknownGroup):
        kafka_client.delete_group(cluster, group)
