"""Topics: listing, describing, creating, deleting, configs, truncating.

Some brokers (Tansu) create any topic a metadata request names: every call on one topic
first checks that it exists and answers ``unknown_topic`` instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka import errors as kerrors
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, OffsetSpec
from kafka.structs import TopicPartition

from lib.errors import InvalidConfig, InvalidRequest
from topics.configs import KAFKA_DEFAULTS, lists_only_overrides
from topics.kafka.client import (
    CONNECTION_ERRORS,
    ClusterUnavailable,
    NotSupported,
    TopicExists,
    UnknownTopic,
    admin,
    cached_entry,
    describe_cluster,
    translate,
)
from topics.models import Cluster

log = logging.getLogger("flex.kafka")

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
    size: int | None = None  # bytes of the leader replicas (DescribeLogDirs); None: not reported
    under_replicated: bool = False  # some partition has fewer in-sync replicas than replicas
    offline: bool = False  # some partition has no leader


@dataclass(frozen=True)
class PartitionInfo:
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]
    earliest: int | None
    latest: int | None


DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG = "DYNAMIC_TOPIC_CONFIG", "DEFAULT_CONFIG"
KAFKA_DEFAULT = "KAFKA_DEFAULT"  # not the broker's word: Apache Kafka's documented default


@dataclass(frozen=True)
class ConfigEntry:
    name: str
    value: str | None
    source: str
    sensitive: bool
    read_only: bool
    default: str | None = None  # what the topic would have without its own value
    default_source: str | None = None  # where that default comes from
    reported: bool = True  # False: the broker did not list it; the value is Kafka's default
    note: str = ""  # why the source shown is not the one the broker reported

    @property
    def overridden(self) -> bool:
        return self.source == DYNAMIC_TOPIC_CONFIG


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


def partitions_of(name: str, partitions: list[dict]) -> list[TopicPartition]:
    return [TopicPartition(name, p["partition_index"]) for p in partitions]


def describe_one(client: KafkaAdminClient, name: str) -> dict:
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


def partition_offsets(
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
        return partition_offsets(client, tps)
    except CONNECTION_ERRORS:
        raise
    except kerrors.KafkaError:
        log.info("offsets unavailable for %d partitions", len(tps), exc_info=True)
        return {}


def list_topics(cluster: Cluster) -> list[TopicSummary]:
    """Every topic with its partition count, replication factor, message estimate, size (where
    the cluster reports it) and partition health, by name."""
    with admin(cluster) as client:
        topics = [t for t in client.describe_topics() if not t.get("error_code")]
        tps = [tp for t in topics for tp in partitions_of(t["name"], t["partitions"])]
        offsets = _offsets_if_known(client, tps)
        sizes = _leader_sizes(client, topics)
    return sorted((_summary(t, offsets, sizes) for t in topics), key=lambda row: row.name)


def _summary(topic: dict, offsets: dict, sizes: dict[str, int] | None) -> TopicSummary:
    partitions = topic["partitions"]
    counts = [offsets.get(tp) for tp in partitions_of(topic["name"], partitions)]
    return TopicSummary(
        name=topic["name"],
        partitions=len(partitions),
        replication_factor=max((len(p["replica_nodes"]) for p in partitions), default=0),
        messages=sum(latest - earliest for earliest, latest in counts) if all(counts) else None,
        internal=is_internal(topic["name"], topic.get("is_internal", False)),
        size=None if sizes is None else sizes.get(topic["name"], 0),
        under_replicated=any(len(p["isr_nodes"]) < len(p["replica_nodes"]) for p in partitions),
        offline=any(p["leader_id"] < 0 for p in partitions),
    )


DESCRIBE_LOG_DIRS = "DescribeLogDirs"


def _leader_sizes(client: KafkaAdminClient, topics: list[dict]) -> dict[str, int] | None:
    """Bytes on disk of each topic's leader replicas; None when the cluster cannot say
    (Tansu has no DescribeLogDirs) or a broker does not answer."""
    if not topics or not _advertises(client, DESCRIBE_LOG_DIRS):
        return None
    leaders = {
        (t["name"], p["partition_index"]): p["leader_id"] for t in topics for p in t["partitions"]
    }
    try:
        answers = client.describe_log_dirs()
    except CONNECTION_ERRORS:
        raise
    except kerrors.KafkaError:
        log.info("log dir sizes unavailable", exc_info=True)
        return None
    sizes: dict[str, int] = {}
    for answer in answers:
        for log_dir in answer["log_dirs"]:
            for topic in log_dir["topics"]:
                for part in topic["partitions"]:
                    if leaders.get((topic["name"], part["partition_index"])) == answer["broker"]:
                        sizes[topic["name"]] = sizes.get(topic["name"], 0) + part["partition_size"]
    return sizes


def _config_entries(client: KafkaAdminClient, name: str) -> list[ConfigEntry]:
    """Every config of the topic, its source, and the default an override replaces.

    Kafka lists every topic config with its source and (with synonyms) the broker or
    built-in default behind it. A broker that lists only what was set on the topic
    (Tansu, marking each ``DEFAULT_CONFIG``, no synonyms) is read for what it is: what it
    lists was set (``DYNAMIC_TOPIC_CONFIG``); ``topics.reads`` shows the rest with Kafka's
    defaults.
    """
    resource = ConfigResource(ConfigResourceType.TOPIC, name)
    described = client.describe_configs([resource], config_filter="all", include_synonyms=True)
    entries = described.get("topic", {}).get(name, {})
    overrides_only = lists_only_overrides(entries)
    rows = [_config_entry(key, data, overrides_only) for key, data in entries.items()]
    return sorted(rows, key=lambda entry: entry.name)


def _config_entry(key: str, data: dict, overrides_only: bool) -> ConfigEntry:
    source = str(data.get("config_source", ""))
    note = ""
    if overrides_only and source == DEFAULT_CONFIG:
        source = DYNAMIC_TOPIC_CONFIG
        note = "the broker reports DEFAULT_CONFIG but lists only configs set on the topic"
    # Synonyms run from the most to the least specific; the first other than the topic's
    # own value is what the topic would fall back to.
    behind = [s for s in data.get("synonyms") or [] if s.get("source") != DYNAMIC_TOPIC_CONFIG]
    if behind:
        default, default_source = behind[0].get("value"), str(behind[0].get("source"))
    elif key in KAFKA_DEFAULTS:
        default, default_source = KAFKA_DEFAULTS[key], KAFKA_DEFAULT
    else:
        default, default_source = None, None
    return ConfigEntry(
        name=key,
        value=data.get("value"),
        source=source,
        sensitive=bool(data.get("is_sensitive")),
        read_only=bool(data.get("read_only")),
        default=default,
        default_source=default_source,
        note=note,
    )


def describe_topic(cluster: Cluster, name: str) -> TopicDetail:
    """Partitions (leader, replicas, ISR, earliest and latest offsets) and configs of a topic."""
    with admin(cluster) as client:
        topic = describe_one(client, name)
        offsets = _offsets_if_known(client, partitions_of(name, topic["partitions"]))
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
        describe_one(client, name)
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
        brokers = _known_brokers(client)
        if replication_factor > brokers:
            raise InvalidRequest(
                f"replication_factor: {replication_factor} is more than the {brokers} "
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


def _known_brokers(client: KafkaAdminClient) -> int:
    """The brokers in the client's metadata (kept fresh by kafka-python): no extra request."""
    brokers = client._client.cluster.brokers()  # noqa: SLF001  (the public call is a request)
    return len(brokers) or len(client.describe_cluster()["brokers"])


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
        describe_one(client, name)
        resource = ConfigResource(ConfigResourceType.TOPIC, name, changes)
        # Keys are checked against topics.configs before; the broker's own list may be shorter.
        result = client.alter_configs([resource], incremental=True, raise_on_unknown=False)
    answer = result.get("topic", {}).get(name)
    if answer != "OK":
        raise InvalidConfig(f"the cluster refused the change: {str(answer)[:300]}")
    return {"topic-name": name, "set": sorted(set_items), "reset": sorted(reset_keys)}


# Truncate -------------------------------------------------------------------

DELETE_RECORDS = "DeleteRecords"


def truncate_topic(cluster: Cluster, name: str) -> dict:
    """Delete every record of every partition (DeleteRecords up to the latest offset)."""
    entry = cached_entry(cluster)
    with admin(cluster) as client:
        topic = describe_one(client, name)
        if DELETE_RECORDS in entry.unsupported or not _advertises(client, DELETE_RECORDS):
            raise NotSupported("truncating (DeleteRecords) is not supported by this cluster")
        bounds = partition_offsets(client, partitions_of(name, topic["partitions"]))
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
