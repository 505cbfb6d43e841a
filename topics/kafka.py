"""The one module that talks to Kafka clusters (kafka-python's admin client, producers, consumers).

One admin client per cluster is kept and reused. Every call is bounded by
``FLEX_KAFKA_TIMEOUT_MS``; a client that lost its broker is closed and rebuilt
on the next call, so Flex recovers from a broker restart by itself. Producers
and consumers are made per call with the same bounds and closed after it.

kafka-python's errors never leave this module: each becomes an ``OperationError``
subclass with a code (``topic_exists``, ``unknown_topic``, ``invalid_config``,
``not_supported``, ``cluster_unavailable``, ``too_large``, ``invalid_request``).

Some brokers (Tansu) create any topic a metadata request names, so producing and
reading first check that the topic exists and answer ``unknown_topic`` instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import errors as kerrors
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, OffsetSpec
from kafka.structs import TopicPartition
from kafka.util import ensure_valid_topic_name

from audit.gate import OperationError
from topics.models import Cluster

log = logging.getLogger("flex.kafka")
T = TypeVar("T")


class KafkaError(OperationError):
    code = "kafka_error"
    status = 400


class ClusterUnavailable(KafkaError):
    code = "cluster_unavailable"
    status = 503


class NotSupported(KafkaError):
    code = "not_supported"
    status = 400


class UnknownCluster(KafkaError):
    code = "unknown_cluster"
    status = 404


class UnknownTopic(KafkaError):
    code = "unknown_topic"
    status = 404


class TopicExists(KafkaError):
    code = "topic_exists"
    status = 409


class InvalidConfig(KafkaError):
    code = "invalid_config"
    status = 400


class InvalidRequest(KafkaError):
    code = "invalid_request"
    status = 400


class TooLarge(KafkaError):
    code = "too_large"
    status = 413


# Errors that mean the connection, not the request, is at fault: drop the client.
_CONNECTION_ERRORS = (
    kerrors.KafkaConnectionError,
    kerrors.KafkaTimeoutError,
    kerrors.BrokerNotAvailableError,
    kerrors.NodeNotReadyError,
    kerrors.RequestTimedOutError,
    OSError,
)


class _Entry:
    def __init__(self, signature: tuple) -> None:
        self.signature = signature
        self.lock = threading.Lock()
        self.client: KafkaAdminClient | None = None
        self.unsupported: set[str] = set()  # APIs the cluster advertises but fails on


_entries: dict[int | str, _Entry] = {}
_entries_lock = threading.Lock()


def _signature(cluster: Cluster) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in cluster.client_config().items()))


def _entry(cluster: Cluster) -> _Entry:
    key = cluster.pk or cluster.name
    signature = _signature(cluster)
    with _entries_lock:
        entry = _entries.get(key)
        if entry is None or entry.signature != signature:
            if entry is not None:
                _close(entry)
            entry = _entries[key] = _Entry(signature)
        return entry


def _close(entry: _Entry) -> None:
    client, entry.client = entry.client, None
    if client is not None:
        try:
            client.close()
        except Exception:  # closing a broken client may fail; it is being thrown away
            log.debug("closing a Kafka admin client failed", exc_info=True)


def _new_client(cluster: Cluster) -> KafkaAdminClient:
    timeout = settings.KAFKA_TIMEOUT_MS
    return KafkaAdminClient(
        client_id="flex",
        request_timeout_ms=timeout,
        bootstrap_timeout_ms=timeout,
        reconnect_backoff_max_ms=1000,
        **cluster.client_config(),
    )


@contextmanager
def admin(cluster: Cluster) -> Iterator[KafkaAdminClient]:
    """The cluster's admin client, one call at a time; lost connections raise ClusterUnavailable."""
    entry = _entry(cluster)
    if not entry.lock.acquire(timeout=settings.KAFKA_TIMEOUT_MS / 1000 * 2):
        raise ClusterUnavailable(f"cluster {cluster.name} is busy; try again")
    try:
        try:
            if entry.client is None:
                entry.client = _new_client(cluster)
            yield entry.client
        except _CONNECTION_ERRORS as exc:
            _close(entry)
            raise ClusterUnavailable(
                f"cluster {cluster.name} is unreachable: {_describe(exc)}"
            ) from exc
        except kerrors.KafkaError as exc:
            raise translate(exc) from exc
    finally:
        entry.lock.release()


def call(cluster: Cluster, fn: Callable[[KafkaAdminClient], T]) -> T:
    with admin(cluster) as client:
        return fn(client)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.split(": Request ")[0][:300]


# kafka-python's broker errors, by what they mean to a user.
_TRANSLATIONS: tuple[tuple[type[Exception], type[KafkaError]], ...] = (
    (kerrors.UnsupportedVersionError, NotSupported),  # IncompatibleBrokerVersion too
    (kerrors.TopicAlreadyExistsError, TopicExists),
    (kerrors.UnknownTopicOrPartitionError, UnknownTopic),
    (kerrors.UnknownTopicIdError, UnknownTopic),
    (kerrors.InvalidConfigurationError, InvalidConfig),
    (kerrors.PolicyViolationError, InvalidConfig),
    (kerrors.InvalidReplicationFactorError, InvalidRequest),
    (kerrors.InvalidPartitionsError, InvalidRequest),
    (kerrors.InvalidTopicError, InvalidRequest),
    (kerrors.InvalidRequestError, InvalidRequest),
    (kerrors.MessageSizeTooLargeError, TooLarge),
    (kerrors.RecordListTooLargeError, TooLarge),
)


def translate(exc: BaseException) -> KafkaError:
    """The OperationError a kafka-python error means; connection trouble is ClusterUnavailable."""
    if isinstance(exc, KafkaError):
        return exc
    if isinstance(exc, _CONNECTION_ERRORS):
        return ClusterUnavailable(f"cluster is unreachable: {_describe(exc)}")
    for kafka_type, flex_type in _TRANSLATIONS:
        if isinstance(exc, kafka_type):
            if flex_type is NotSupported:
                return NotSupported(f"not supported by this cluster: {_describe(exc)}")
            return flex_type(_describe(exc))
    return KafkaError(_describe(exc))


def describe_cluster(cluster: Cluster) -> dict[str, Any]:
    """The cluster's id and brokers; records a newly discovered id on the Cluster row."""
    info = call(cluster, lambda client: client.describe_cluster())
    cluster_id = info.get("cluster_id") or ""
    if cluster.pk and cluster_id and cluster.kafka_cluster_id != cluster_id:
        cluster.kafka_cluster_id = cluster_id
        Cluster.objects.filter(pk=cluster.pk).update(kafka_cluster_id=cluster_id)
    return info


def reset_clients() -> None:
    """Close every cached admin client (tests, and after settings change)."""
    with _entries_lock:
        entries = list(_entries.values())
        _entries.clear()
    for entry in entries:
        with entry.lock:
            _close(entry)


# Topics ---------------------------------------------------------------------

INTERNAL_PREFIX = "__"
READ_MAX_BYTES = 16 * 1024 * 1024  # a read returns at most this much message data


@dataclass(frozen=True)
class TopicSummary:
    name: str
    partitions: int
    replication_factor: int
    messages: int | None  # sum of latest - earliest offsets; None when offsets were unavailable
    internal: bool


@dataclass(frozen=True)
class PartitionInfo:
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]
    earliest: int | None
    latest: int | None


@dataclass(frozen=True)
class ConfigEntry:
    name: str
    value: str | None
    source: str
    sensitive: bool
    read_only: bool


@dataclass(frozen=True)
class TopicDetail:
    name: str
    internal: bool
    partitions: list[PartitionInfo]
    configs: list[ConfigEntry]

    @property
    def replication_factor(self) -> int:
        return max((len(p.replicas) for p in self.partitions), default=0)

    @property
    def messages(self) -> int | None:
        counts = [p.latest - p.earliest for p in self.partitions if p.latest is not None]
        return sum(counts) if len(counts) == len(self.partitions) else None


def is_internal(name: str, flagged: bool = False) -> bool:
    return flagged or name.startswith(INTERNAL_PREFIX)


def _tp_of(name: str, partitions: list[dict]) -> list[TopicPartition]:
    return [TopicPartition(name, p["partition_index"]) for p in partitions]


def _describe_one(client: KafkaAdminClient, name: str) -> dict:
    """The topic's metadata; UnknownTopic when the cluster has no such topic (never creates it)."""
    found = [t for t in client.describe_topics([name]) if t.get("name") == name]
    if not found:
        raise UnknownTopic(f"topic {name!r} does not exist")
    topic = found[0]
    code = topic.get("error_code", 0)
    if code == kerrors.UnknownTopicOrPartitionError.errno:
        raise UnknownTopic(f"topic {name!r} does not exist")
    if code:
        raise translate(kerrors.for_code(code)(f"topic {name!r}"))
    return topic


def _offsets(
    client: KafkaAdminClient, tps: list[TopicPartition]
) -> dict[TopicPartition, tuple[int, int]]:
    """(earliest, latest) offsets of each partition."""
    if not tps:
        return {}
    earliest = client.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in tps})
    latest = client.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
    return {tp: (earliest[tp].offset, latest[tp].offset) for tp in tps}


def _offsets_if_known(
    client: KafkaAdminClient, tps: list[TopicPartition]
) -> dict[TopicPartition, tuple[int, int]]:
    """Offsets for display: a partition error leaves them unknown instead of failing the page."""
    try:
        return _offsets(client, tps)
    except _CONNECTION_ERRORS:
        raise
    except kerrors.KafkaError:
        log.info("offsets unavailable for %d partitions", len(tps), exc_info=True)
        return {}


def list_topics(cluster: Cluster) -> list[TopicSummary]:
    """Every topic with its partition count, replication factor and message estimate, by name."""
    with admin(cluster) as client:
        topics = [t for t in client.describe_topics() if not t.get("error_code")]
        tps = [tp for t in topics for tp in _tp_of(t["name"], t["partitions"])]
        offsets = _offsets_if_known(client, tps)
    rows = []
    for topic in topics:
        counts = [offsets.get(tp) for tp in _tp_of(topic["name"], topic["partitions"])]
        known = all(counts)
        rows.append(
            TopicSummary(
                name=topic["name"],
                partitions=len(topic["partitions"]),
                replication_factor=max(
                    (len(p["replica_nodes"]) for p in topic["partitions"]), default=0
                ),
                messages=sum(latest - earliest for earliest, latest in counts) if known else None,
                internal=is_internal(topic["name"], topic.get("is_internal", False)),
            )
        )
    return sorted(rows, key=lambda row: row.name)


def _config_entries(client: KafkaAdminClient, name: str) -> list[ConfigEntry]:
    resource = ConfigResource(ConfigResourceType.TOPIC, name)
    described = client.describe_configs([resource], config_filter="all")
    entries = described.get("topic", {}).get(name, {})
    return sorted(
        (
            ConfigEntry(
                name=key,
                value=data.get("value"),
                source=str(data.get("config_source", "")),
                sensitive=bool(data.get("is_sensitive")),
                read_only=bool(data.get("read_only")),
            )
            for key, data in entries.items()
        ),
        key=lambda entry: entry.name,
    )


def describe_topic(cluster: Cluster, name: str) -> TopicDetail:
    """Partitions (leader, replicas, ISR, earliest and latest offsets) and configs of a topic."""
    with admin(cluster) as client:
        topic = _describe_one(client, name)
        offsets = _offsets_if_known(client, _tp_of(name, topic["partitions"]))
        configs = _config_entries(client, name)
    partitions = []
    for p in sorted(topic["partitions"], key=lambda p: p["partition_index"]):
        earliest, latest = offsets.get(TopicPartition(name, p["partition_index"]), (None, None))
        partitions.append(
            PartitionInfo(
                partition=p["partition_index"],
                leader=p["leader_id"],
                replicas=list(p["replica_nodes"]),
                isr=list(p["isr_nodes"]),
                earliest=earliest,
                latest=latest,
            )
        )
    return TopicDetail(
        name=name,
        internal=is_internal(name, topic.get("is_internal", False)),
        partitions=partitions,
        configs=configs,
    )


def topic_configs(cluster: Cluster, name: str) -> dict[str, ConfigEntry]:
    """The topic's configs by name; UnknownTopic when it does not exist."""
    with admin(cluster) as client:
        _describe_one(client, name)
        return {entry.name: entry for entry in _config_entries(client, name)}


def broker_count(cluster: Cluster) -> int:
    return len(describe_cluster(cluster)["brokers"])


def create_topic(
    cluster: Cluster,
    *,
    name: str,
    partitions: int,
    replication_factor: int,
    configs: dict[str, str],
) -> dict:
    """Create a topic; the replication factor may not exceed the number of brokers."""
    with admin(cluster) as client:
        brokers = len(client.describe_cluster()["brokers"])
        if replication_factor > brokers:
            raise InvalidRequest(
                f"replication factor {replication_factor} is more than the {brokers} "
                f"broker(s) of this cluster"
            )
        spec = {
            "num_partitions": partitions,
            "replication_factor": replication_factor,
            "configs": dict(configs),
        }
        try:
            client.create_topics({name: spec})
        except kerrors.TopicAlreadyExistsError:
            raise TopicExists(f"topic {name!r} already exists") from None
    return {"topic-name": name, "partitions": partitions, "replication-factor": replication_factor}


def delete_topic(cluster: Cluster, name: str) -> dict:
    with admin(cluster) as client:
        try:
            client.delete_topics([name])
        except kerrors.UnknownTopicOrPartitionError:
            raise UnknownTopic(f"topic {name!r} does not exist") from None
    return {"topic-name": name, "deleted": True}


def alter_topic_configs(
    cluster: Cluster, name: str, *, set_items: dict[str, str], reset_keys: list[str]
) -> dict:
    """Incremental alter: set the given keys, reset the others named to their defaults."""
    changes: dict = dict(set_items)
    changes.update({key: (AlterConfigOp.DELETE, None) for key in reset_keys})
    if not changes:
        raise InvalidRequest("no config changes given")
    with admin(cluster) as client:
        _describe_one(client, name)
        resource = ConfigResource(ConfigResourceType.TOPIC, name, changes)
        # Keys are checked against topics.configs before; the broker's own list may be shorter.
        result = client.alter_configs([resource], incremental=True, raise_on_unknown=False)
    answer = result.get("topic", {}).get(name)
    if answer != "OK":
        raise InvalidConfig(f"the cluster refused the change: {str(answer)[:300]}")
    return {"topic-name": name, "set": sorted(set_items), "reset": sorted(reset_keys)}


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


@contextmanager
def _client_errors(cluster: Cluster) -> Iterator[None]:
    """Producer and consumer errors as OperationErrors (the admin client has its own wrapper)."""
    try:
        yield
    except KafkaError:
        raise
    except (kerrors.KafkaError, OSError) as exc:
        error = translate(exc)
        if isinstance(error, ClusterUnavailable):
            error = ClusterUnavailable(f"cluster {cluster.name} is unreachable: {_describe(exc)}")
        raise error from exc


def _client_options(cluster: Cluster) -> dict:
    timeout = settings.KAFKA_TIMEOUT_MS
    return {
        "client_id": "flex",
        "request_timeout_ms": timeout,
        "bootstrap_timeout_ms": timeout,
        "reconnect_backoff_max_ms": 1000,
        **cluster.client_config(),
    }


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
        topic = _describe_one(client, name)
    count = len(topic["partitions"])
    if partition is not None and not 0 <= partition < count:
        raise InvalidRequest(f"partition {partition} does not exist; {name!r} has {count}")
    timeout = settings.KAFKA_TIMEOUT_MS
    with _client_errors(cluster):
        producer = KafkaProducer(
            **_client_options(cluster),
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
    topic = _describe_one(client, name)
    tps = _tp_of(name, topic["partitions"])
    if query.partition is not None:
        tps = [tp for tp in tps if tp.partition == query.partition]
        if not tps:
            raise InvalidRequest(f"partition {query.partition} does not exist in {name!r}")
    bounds = _offsets(client, tps)
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
    messages, partial = _consume(cluster, ranges) if ranges else ([], False)
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
) -> tuple[list[Message], bool]:
    deadline = time.monotonic() + settings.KAFKA_TIMEOUT_MS / 1000
    with _client_errors(cluster):
        consumer = KafkaConsumer(
            **_client_options(cluster),
            group_id=None,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
        )
        try:
            return _poll_ranges(consumer, ranges, deadline)
        finally:
            consumer.close(autocommit=False, timeout_ms=1000)


def _poll_ranges(
    consumer: KafkaConsumer, ranges: dict[TopicPartition, tuple[int, int]], deadline: float
) -> tuple[list[Message], bool]:
    consumer.assign(list(ranges))
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
            end = ranges[tp][1]
            for record in records:
                if record.offset < end:
                    messages.append(_message(record))
                    size += messages[-1].size
        for tp in list(pending):
            if consumer.position(tp, timeout_ms=100) >= ranges[tp][1]:
                pending.discard(tp)
                consumer.pause(tp)
    return messages, bool(pending)


def _message(record: Any) -> Message:
    return Message(
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
        key=record.key,
        value=record.value,
        headers=[(k, v) for k, v in (record.headers or [])],
    )


# Truncate -------------------------------------------------------------------

DELETE_RECORDS = "DeleteRecords"


def truncate_topic(cluster: Cluster, name: str) -> dict:
    """Delete every record of every partition (DeleteRecords up to the latest offset)."""
    entry = _entry(cluster)
    with admin(cluster) as client:
        topic = _describe_one(client, name)
        if DELETE_RECORDS in entry.unsupported or not _advertises(client, DELETE_RECORDS):
            raise NotSupported("truncating (DeleteRecords) is not supported by this cluster")
        bounds = _offsets(client, _tp_of(name, topic["partitions"]))
    targets = {tp: latest for tp, (_earliest, latest) in bounds.items()}
    try:
        with admin(cluster) as client:
            client.delete_records(targets)
    except ClusterUnavailable:
        # Tansu advertises DeleteRecords but drops the connection on it (unimplemented).
        if not _reachable(cluster):
            raise
        entry.unsupported.add(DELETE_RECORDS)
        raise NotSupported(
            "truncating (DeleteRecords) is not supported by this cluster: "
            "the broker closed the connection on the request"
        ) from None
    deleted = sum(latest - earliest for earliest, latest in bounds.values())
    return {"topic-name": name, "partitions": len(targets), "deleted": deleted}


def _advertises(client: KafkaAdminClient, api: str) -> bool:
    return any(getattr(key, "name", str(key)) == api for key in client.api_versions())


def _reachable(cluster: Cluster) -> bool:
    try:
        describe_cluster(cluster)
    except ClusterUnavailable:
        return False
    return True
