"""Kafka's topic-level configs (Apache Kafka 3.x/4.x ``TopicConfig``), with a light value check.

A config a user names must be one of these; its value must parse as its type. The
broker checks again (a real Kafka cluster knows ranges and dependencies better), but
some brokers (Tansu) accept anything, so this is what stops a typo.
"""

from __future__ import annotations

import re

BOOLEAN, INT, LONG, DOUBLE, STRING, LIST = "boolean", "int", "long", "double", "string", "list"

TOPIC_CONFIGS: dict[str, str] = {
    "cleanup.policy": LIST,
    "compression.type": STRING,
    "compression.gzip.level": INT,
    "compression.lz4.level": INT,
    "compression.zstd.level": INT,
    "delete.retention.ms": LONG,
    "file.delete.delay.ms": LONG,
    "flush.messages": LONG,
    "flush.ms": LONG,
    "follower.replication.throttled.replicas": LIST,
    "index.interval.bytes": INT,
    "leader.replication.throttled.replicas": LIST,
    "local.retention.bytes": LONG,
    "local.retention.ms": LONG,
    "max.compaction.lag.ms": LONG,
    "max.message.bytes": INT,
    "message.downconversion.enable": BOOLEAN,
    "message.format.version": STRING,
    "message.timestamp.after.max.ms": LONG,
    "message.timestamp.before.max.ms": LONG,
    "message.timestamp.difference.max.ms": LONG,
    "message.timestamp.type": STRING,
    "min.cleanable.dirty.ratio": DOUBLE,
    "min.compaction.lag.ms": LONG,
    "min.insync.replicas": INT,
    "preallocate": BOOLEAN,
    "remote.log.copy.disable": BOOLEAN,
    "remote.log.delete.on.disable": BOOLEAN,
    "remote.storage.enable": BOOLEAN,
    "retention.bytes": LONG,
    "retention.ms": LONG,
    "segment.bytes": INT,
    "segment.index.bytes": INT,
    "segment.jitter.ms": LONG,
    "segment.ms": LONG,
    "unclean.leader.election.enable": BOOLEAN,
}

# Apache Kafka 3.9's defaults of those configs (its ``LogConfig``), shown beside a value
# the broker itself reports no default for. A broker may be configured otherwise.
KAFKA_DEFAULTS: dict[str, str] = {
    "cleanup.policy": "delete",
    "compression.type": "producer",
    "compression.gzip.level": "-1",
    "compression.lz4.level": "9",
    "compression.zstd.level": "3",
    "delete.retention.ms": "86400000",
    "file.delete.delay.ms": "60000",
    "flush.messages": "9223372036854775807",
    "flush.ms": "9223372036854775807",
    "follower.replication.throttled.replicas": "",
    "index.interval.bytes": "4096",
    "leader.replication.throttled.replicas": "",
    "local.retention.bytes": "-2",
    "local.retention.ms": "-2",
    "max.compaction.lag.ms": "9223372036854775807",
    "max.message.bytes": "1048588",
    "message.downconversion.enable": "true",
    "message.format.version": "3.0-IV1",
    "message.timestamp.after.max.ms": "9223372036854775807",
    "message.timestamp.before.max.ms": "9223372036854775807",
    "message.timestamp.difference.max.ms": "9223372036854775807",
    "message.timestamp.type": "CreateTime",
    "min.cleanable.dirty.ratio": "0.5",
    "min.compaction.lag.ms": "0",
    "min.insync.replicas": "1",
    "preallocate": "false",
    "remote.log.copy.disable": "false",
    "remote.log.delete.on.disable": "false",
    "remote.storage.enable": "false",
    "retention.bytes": "-1",
    "retention.ms": "604800000",
    "segment.bytes": "1073741824",
    "segment.index.bytes": "10485760",
    "segment.jitter.ms": "0",
    "segment.ms": "604800000",
    "unclean.leader.election.enable": "false",
}
# Kafka lists every topic config in a DescribeConfigs answer; one that lacks these lists only
# what was set on the topic (Tansu does, marking each DEFAULT_CONFIG).
ALWAYS_LISTED = ("cleanup.policy", "retention.ms", "segment.bytes", "min.insync.replicas")


def lists_only_overrides(names: object) -> bool:
    """Whether a broker's config listing (its names) holds only the configs set on the topic."""
    return any(key not in names for key in ALWAYS_LISTED)


CHOICES: dict[str, frozenset[str]] = {
    "compression.type": frozenset({"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}),
    "message.timestamp.type": frozenset({"CreateTime", "LogAppendTime"}),
}
LIST_CHOICES: dict[str, frozenset[str]] = {"cleanup.policy": frozenset({"delete", "compact"})}

# ASCII: without it \d also matches other scripts' digits ("١٢٣"), which brokers may not parse.
_INTEGER = re.compile(r"-?\d{1,19}", re.ASCII)
_DOUBLE = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", re.ASCII)


def config_problem(key: str, value: str | None) -> str | None:
    """Why ``key=value`` is not a valid topic config, or None when it is.

    ``value`` None means "reset to default", which only needs a known key.
    """
    kind = TOPIC_CONFIGS.get(key)
    if kind is None:
        return f"{_short(key)!r} is not a topic config"
    if value is None:
        return None
    shown = _short(value)
    if kind in (INT, LONG) and not _INTEGER.fullmatch(value):
        return f"{key} must be a whole number, not {shown!r}"
    if kind == DOUBLE and not _DOUBLE.fullmatch(value):
        return f"{key} must be a number, not {shown!r}"
    if kind == BOOLEAN and value not in ("true", "false"):
        return f"{key} must be true or false, not {shown!r}"
    if key in CHOICES and value not in CHOICES[key]:
        return f"{key} must be one of {', '.join(sorted(CHOICES[key]))}, not {shown!r}"
    if key in LIST_CHOICES:
        items = [item.strip() for item in value.split(",")]
        if not items or any(item not in LIST_CHOICES[key] for item in items):
            return f"{key} must list {' and/or '.join(sorted(LIST_CHOICES[key]))}, not {shown!r}"
    return None


def _short(text: str, limit: int = 60) -> str:
    """What an error message repeats of the user's input: enough to recognise it."""
    return text if len(text) <= limit else text[:limit] + "…"
