"""Consumer-group helpers for tests: real messages, real commits, real consumers on Tansu.

Messages go one per batch (a flush after each send): Tansu reports the log-end offset of
a multi-message batch as its first offset + 1, so exact lag needs single-message batches.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata, TopicPartition

from tests.conftest import wait_until
from topics import kafka as kafka_client
from topics.models import Cluster

JOIN_SECONDS = 30.0  # a consumer joins in ~3 s on an idle machine; the suite shares 2 cores


def new_group(prefix: str = "g") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def produce_each(cluster: Cluster, topic: str, counts: dict[int, int]) -> None:
    """``counts[partition]`` messages to each partition, one message per batch."""
    producer = KafkaProducer(**kafka_client.client_options(cluster), linger_ms=0)
    try:
        for partition, count in counts.items():
            for n in range(count):
                producer.send(topic, value=f"m{n}".encode(), partition=partition)
                producer.flush(timeout=10)
    finally:
        producer.close(timeout=5)


def commit(cluster: Cluster, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit offsets for an empty group straight on the broker (no consumer needed)."""
    commits = {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()}
    results = kafka_client.call(cluster, lambda c: c.alter_group_offsets(group, commits))
    assert all(error.__name__ == "NoError" for error in results.values()), results


def committed(cluster: Cluster, group: str) -> dict[tuple[str, int], int]:
    found = kafka_client.call(cluster, lambda c: c.list_group_offsets(group)).get(group, {})
    return {(tp.topic, tp.partition): meta.offset for tp, meta in found.items()}


@contextmanager
def member(cluster: Cluster, group: str, topic: str) -> Iterator[KafkaConsumer]:
    """A live consumer in ``group``, assigned ``topic``'s partitions; it leaves on exit."""
    consumer = KafkaConsumer(
        topic,
        **kafka_client.client_options(cluster),
        group_id=group,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        deadline = time.monotonic() + JOIN_SECONDS
        while not consumer.assignment():
            assert time.monotonic() < deadline, f"the consumer did not join {group}"
            consumer.poll(timeout_ms=200)
        _rewind(consumer)
        yield consumer
    finally:
        consumer.close(autocommit=False)
    wait_until(lambda: is_empty(cluster, group), timeout=30)


def _rewind(consumer: KafkaConsumer) -> None:
    """Back to the committed offsets (else the beginning): the poll that joined the group
    may have read messages already."""
    for tp in consumer.assignment():
        offset = consumer.committed(tp)
        if offset is None:
            consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, offset)


def is_empty(cluster: Cluster, group: str) -> bool:
    try:
        return not kafka_client.describe_group(cluster, group).members
    except kafka_client.UnknownGroup:
        return True


def read(consumer: KafkaConsumer, count: int) -> list:
    """``count`` messages, polled until they came (or the test fails)."""
    got: list = []
    deadline = time.monotonic() + JOIN_SECONDS
    while len(got) < count:
        assert time.monotonic() < deadline, f"read {len(got)} of {count} messages"
        for records in consumer.poll(timeout_ms=200, max_records=count - len(got)).values():
            got.extend(records)
    return got
