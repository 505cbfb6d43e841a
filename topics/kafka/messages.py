"""Messages: producing one, and reading a bounded range without a consumer group."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition
from kafka.util import ensure_valid_topic_name

from lib.errors import InvalidRequest, TooLarge
from topics.kafka.client import (
    NotSupported,
    admin,
    client_errors,
    client_options,
)
from topics.kafka.topic_admin import (
    READ_MAX_BYTES,
    describe_one,
    partition_offsets,
    partitions_of,
)
from topics.models import Cluster

# Messages -------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return message_size(self.key, self.value, self.headers)


@dataclass(frozen=True)
class ReadQuery:
    """Which messages to read: the latest ``limit``, or ``limit`` from an offset or a timestamp."""

    mode: str = "latest"  # latest | offset | timestamp
    limit: int = 50
    partition: int | None = None
    offset: int | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class ReadResult:
    messages: list[Message]
    partial: bool  # the time or size bound was reached before every message was read


def message_size(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]]
) -> int:
    """Key, value and headers, as FLEX_PRODUCE_MAX_BYTES counts them."""
    total = len(key or b"") + len(value or b"")
    return total + sum(len(name.encode()) + len(data or b"") for name, data in headers)


def produce(
    cluster: Cluster,
    name: str,
    *,
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes | None]],
    partition: int | None = None,
) -> dict:
    """Produce one message to an existing topic; answers its partition, offset and timestamp."""
    if key is None and value is None:  # the producer would raise a bare ValueError
        raise InvalidRequest("a message needs a key or a value (a tombstone has a key)")
    size = message_size(key, value, headers)
    limit = settings.FLEX_PRODUCE_MAX_BYTES
    if size > limit:
        raise TooLarge(f"the message is {size} bytes; at most {limit} bytes may be produced")
    with admin(cluster) as client:
        topic = describe_one(client, name)
    count = len(topic["partitions"])
    if partition is not None and not 0 <= partition < count:
        raise InvalidRequest(f"partition {partition} does not exist; {name!r} has {count}")
    timeout = settings.KAFKA_TIMEOUT_MS
    with client_errors(cluster):
        producer = KafkaProducer(
            **client_options(cluster),
            max_block_ms=timeout,
            delivery_timeout_ms=timeout * 2,
            max_request_size=max(1024 * 1024, limit + 64 * 1024),
            allow_auto_create_topics=False,
        )
        try:
            future = producer.send(name, key=key, value=value, headers=headers, partition=partition)
            sent = future.get(timeout=timeout * 2 / 1000)
        finally:
            producer.close(timeout=1)
    return {"partition": sent.partition, "offset": sent.offset, "timestamp": sent.timestamp}


def _read_ranges(
    client: KafkaAdminClient, name: str, query: ReadQuery
) -> dict[TopicPartition, tuple[int, int]]:
    """The [start, end) offsets to read from each partition for the query."""
    topic = describe_one(client, name)
    tps = partitions_of(name, topic["partitions"])
    if query.partition is not None:
        tps = [tp for tp in tps if tp.partition == query.partition]
        if not tps:
            raise InvalidRequest(f"partition {query.partition} does not exist in {name!r}")
    bounds = partition_offsets(client, tps)
    if query.mode == "timestamp":
        found = client.list_partition_offsets({tp: int(query.timestamp_ms or 0) for tp in tps})
        # No record at or after the time: Kafka answers offset -1, Tansu offset 0 with timestamp -1.
        starts = {
            tp: found[tp].offset for tp in tps if found[tp].offset >= 0 and found[tp].timestamp >= 0
        }
    elif query.mode == "offset":
        starts = {tp: max(bounds[tp][0], query.offset or 0) for tp in tps}
    else:
        starts = {tp: max(bounds[tp][0], bounds[tp][1] - query.limit) for tp in tps}
    ranges = {}
    for tp, start in starts.items():
        end = min(bounds[tp][1], start + query.limit)
        if start < end:
            ranges[tp] = (start, end)
    return ranges


def read_messages(cluster: Cluster, name: str, query: ReadQuery) -> ReadResult:
    """Read messages without a consumer group, within FLEX_KAFKA_TIMEOUT_MS and READ_MAX_BYTES."""
    with admin(cluster) as client:
        ranges = _read_ranges(client, name, query)
    if ranges:
        _check_consumable(name)
    messages, pending = _consume(cluster, ranges) if ranges else ([], set())
    partial = bool(pending)
    if query.mode == "timestamp":
        messages = [m for m in messages if m.timestamp >= (query.timestamp_ms or 0)]
    messages.sort(key=lambda m: (m.timestamp, m.partition, m.offset))
    keep = slice(-query.limit, None) if query.mode == "latest" else slice(query.limit)
    return ReadResult(messages=messages[keep], partial=partial)


def _check_consumable(name: str) -> None:
    """kafka-python's consumer refuses a name Kafka forbids with a bare ValueError; some
    brokers (Tansu) create such topics anyway: say so instead of failing unexpectedly."""
    try:
        ensure_valid_topic_name(name)
    except ValueError as exc:
        raise NotSupported(f"Flex's Kafka client cannot read this topic: {exc}") from None


def _consume(
    cluster: Cluster, ranges: dict[TopicPartition, tuple[int, int]]
) -> tuple[list[Message], set[TopicPartition]]:
    deadline = time.monotonic() + settings.KAFKA_TIMEOUT_MS / 1000
    with client_errors(cluster):
        consumer = _consumer(cluster)
        try:
            return _poll_ranges(consumer, ranges, deadline)
        finally:
            consumer.close(autocommit=False, timeout_ms=1000)


def _consumer(cluster: Cluster) -> KafkaConsumer:
    return KafkaConsumer(
        **client_options(cluster),
        group_id=None,
        enable_auto_commit=False,
        allow_auto_create_topics=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )


class MessageSource:
    """Offsets of a topic's partitions and chunks of their messages, for the message
    browser (``topics/browse.py``): one consumer, no group, bounded by ``deadline``."""

    def __init__(
        self,
        cluster: Cluster,
        consumer: KafkaConsumer,
        name: str,
        bounds: dict[int, tuple[int, int]],
        starts: dict[int, int],
    ) -> None:
        self.cluster = cluster
        self._consumer = consumer
        self.name = name
        self.bounds = bounds  # partition -> (earliest, latest)
        self.starts = starts  # partition -> first offset at or after the timestamp asked for
        self.deadline = time.monotonic() + settings.KAFKA_TIMEOUT_MS / 1000

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def fetch(self, ranges: dict[int, tuple[int, int]]) -> dict[int, list[Message] | None]:
        """The messages of each partition's [start, end), by offset; None for a partition
        the time or size bound cut short (its messages are not all there)."""
        tps = {TopicPartition(self.name, p): span for p, span in ranges.items()}
        with client_errors(self.cluster):
            messages, pending = _poll_ranges(self._consumer, tps, self.deadline)
        found: dict[int, list[Message] | None] = {p: [] for p in ranges}
        for message in messages:
            found[message.partition].append(message)
        for tp in pending:
            found[tp.partition] = None
        return {p: None if got is None else sorted(got, key=_by_offset) for p, got in found.items()}


def _by_offset(message: Message) -> int:
    return message.offset


@contextmanager
def message_source(
    cluster: Cluster, name: str, *, partition: int | None = None, timestamp_ms: int | None = None
) -> Iterator[MessageSource]:
    """A source over the topic's partitions (or the one named); with ``timestamp_ms``, each
    partition's first offset at or after it in ``starts``."""
    with admin(cluster) as client:
        topic = describe_one(client, name)
        tps = partitions_of(name, topic["partitions"])
        if partition is not None:
            tps = [tp for tp in tps if tp.partition == partition]
            if not tps:
                raise InvalidRequest(f"partition {partition} does not exist in {name!r}")
        bounds = {tp.partition: span for tp, span in partition_offsets(client, tps).items()}
        starts = {}
        if timestamp_ms is not None:
            found = client.list_partition_offsets({tp: int(timestamp_ms) for tp in tps})
            # No record at or after the time: Kafka answers -1, Tansu 0 with timestamp -1.
            starts = {
                tp.partition: found[tp].offset
                if found[tp].offset >= 0 and found[tp].timestamp >= 0
                else bounds[tp.partition][1]
                for tp in tps
            }
    _check_consumable(name)
    with client_errors(cluster):
        consumer = _consumer(cluster)
    try:
        yield MessageSource(cluster, consumer, name, bounds, starts)
    finally:
        consumer.close(autocommit=False, timeout_ms=1000)


def _poll_ranges(
    consumer: KafkaConsumer, ranges: dict[TopicPartition, tuple[int, int]], deadline: float
) -> tuple[list[Message], set[TopicPartition]]:
    consumer.assign(list(ranges))
    consumer.resume(*ranges)  # a source fetches again from partitions an earlier poll paused
    for tp, (start, _end) in ranges.items():
        consumer.seek(tp, start)
    pending = set(ranges)
    messages: list[Message] = []
    size = 0
    while pending and size <= READ_MAX_BYTES:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            break
        for tp, records in consumer.poll(timeout_ms=min(left_ms, 500)).items():
            start, end = ranges[tp]
            for record in records:
                if start <= record.offset < end:
                    messages.append(_message(record))
                    size += messages[-1].size
        for tp in list(pending):
            if consumer.position(tp, timeout_ms=100) >= ranges[tp][1]:
                pending.discard(tp)
                consumer.pause(tp)
    return messages, pending


def _message(record: Any) -> Message:
    return Message(
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
        key=record.key,
        value=record.value,
        headers=[(k, v) for k, v in (record.headers or [])],
    )
