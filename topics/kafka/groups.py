"""Consumer groups: listing with lag, describing, planning and applying offset resets, deleting.

Brokers differ in what they check, so Flex checks for itself (measured on Tansu 0.6):

- a group with live members cannot take offset commits from outside it (``alter`` answers
  ``UnknownMemberIdError`` per partition): resets and deletions of a group with members are
  refused first (``group_active``), and a commit refused all the same is too;
- Tansu deletes an active or unknown group without complaint: ``delete_group`` refuses
  both itself (``group_active``, ``unknown_group``);
- Tansu lists only groups that have committed offsets, and describes an unknown group as
  ``Empty``: a group is known when it is listed, has committed offsets or has members.

Lag is the log-end offset minus the committed offset, per partition. On a broker that
reports a multi-message batch's log-end offset as its first offset + 1 (Tansu), lag is
approximate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from kafka import KafkaAdminClient
from kafka import errors as kerrors
from kafka.admin import OffsetSpec
from kafka.structs import OffsetAndMetadata, TopicPartition

from lib.errors import InvalidRequest
from topics.kafka.client import (
    CONNECTION_ERRORS,
    GroupActive,
    KafkaError,
    UnknownGroup,
    admin,
)
from topics.kafka.topic_admin import describe_one, partition_offsets
from topics.models import Cluster

RESET_MODES = ("earliest", "latest", "offset", "timestamp", "shift")
# What a commit from outside a group answers while the group has live members.
_MEMBERSHIP_ERRORS = (
    kerrors.UnknownMemberIdError,
    kerrors.IllegalGenerationError,
    kerrors.RebalanceInProgressError,
)


@dataclass(frozen=True)
class Member:
    member_id: str
    client_id: str
    host: str


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int
    end: int | None  # None when the log-end offset could not be read

    @property
    def lag(self) -> int | None:
        return None if self.end is None else max(self.end - self.committed, 0)


@dataclass(frozen=True)
class Group:
    """A consumer group: its state, members and committed offsets with their lag."""

    group_id: str
    state: str
    members: tuple[Member, ...]
    offsets: tuple[PartitionLag, ...]

    # Computed once: the list page sorts by lag and shows both for every group.
    @cached_property
    def topics(self) -> list[str]:
        return sorted({row.topic for row in self.offsets})

    @cached_property
    def lag(self) -> int:
        return sum(row.lag or 0 for row in self.offsets)

    def topic_lag(self, topic: str) -> int:
        return sum(row.lag or 0 for row in self.offsets if row.topic == topic)


@dataclass(frozen=True)
class ResetSpec:
    """Where to move a group's offsets on one topic (``partitions`` None: all of them)."""

    topic: str
    partitions: tuple[int, ...] | None
    to: str  # one of RESET_MODES
    value: int | None  # offset; epoch ms for timestamp; +/- count for shift


@dataclass(frozen=True)
class OffsetChange:
    topic: str
    partition: int
    before: int | None  # None: no committed offset
    after: int | None  # None: deleted

    def as_json(self) -> dict:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "from": self.before,
            "to": self.after,
        }


# Reading ---------------------------------------------------------------------


def _described(client: KafkaAdminClient, names: list[str]) -> dict[str, dict]:
    found = client.describe_groups(names)
    for name, group in found.items():
        if group.get("error"):
            raise KafkaError(f"group {name!r}: {group['error']}")
    return found


def _committed(client: KafkaAdminClient, names: list[str]) -> dict[str, dict]:
    """Committed offsets per group, by partition (one request on brokers with OffsetFetch v8)."""
    try:
        found = client.list_group_offsets(names)
    except kerrors.UnsupportedVersionError:  # older brokers: one group per request
        found = {}
        for name in names:
            found.update(client.list_group_offsets(name))
    return {
        name: {tp: meta.offset for tp, meta in found.get(name, {}).items() if meta.offset >= 0}
        for name in names
    }


def _ends(client: KafkaAdminClient, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    """Log-end offsets of the partitions that exist (a metadata request naming a deleted topic
    would make Tansu create it again); an error leaves them unknown, not the page failing."""
    existing = {
        TopicPartition(topic["name"], p["partition_index"])
        for topic in client.describe_topics()
        for p in topic["partitions"]
    }
    wanted = [tp for tp in set(tps) if tp in existing]
    if not wanted:
        return {}
    try:
        found = client.list_partition_offsets({tp: OffsetSpec.LATEST for tp in wanted})
    except CONNECTION_ERRORS:
        raise
    except kerrors.KafkaError:
        return {}
    return {tp: answer.offset for tp, answer in found.items()}


def _member(data: Mapping) -> Member:
    return Member(data["member_id"], data.get("client_id") or "", data.get("client_host") or "")


def _group(name: str, described: Mapping, committed: Mapping, ends: Mapping) -> Group:
    offsets = [
        PartitionLag(tp.topic, tp.partition, at, ends.get(tp))
        for tp, at in sorted(committed.items())  # TopicPartition: (topic, partition)
    ]
    return Group(
        group_id=name,
        state=described.get("group_state") or "Unknown",
        members=tuple(_member(m) for m in described.get("members", [])),
        offsets=tuple(offsets),
    )


def list_groups(cluster: Cluster, *, topic: str | None = None) -> list[Group]:
    """Every consumer group with its lag, by id; with ``topic``, those committed on it."""
    with admin(cluster) as client:
        names = sorted({row["group_id"] for row in client.list_groups()})
        committed = _committed(client, names) if names else {}
        if topic is not None:
            names = [n for n in names if any(tp.topic == topic for tp in committed[n])]
        if not names:
            return []
        described = _described(client, names)
        ends = _ends(client, (tp for name in names for tp in committed[name]))
    return [_group(n, described.get(n, {}), committed[n], ends) for n in names]


def _known(client: KafkaAdminClient, name: str, described: Mapping, committed: Mapping) -> bool:
    if described.get("members") or committed:
        return True
    return any(row["group_id"] == name for row in client.list_groups())


def describe_group(cluster: Cluster, name: str) -> Group:
    """A group's members and, per partition, its committed offset, log-end offset and lag."""
    with admin(cluster) as client:
        described = _described(client, [name]).get(name, {})
        committed = _committed(client, [name])[name]
        if not _known(client, name, described, committed):
            raise UnknownGroup(f"group {name!r} does not exist")
        ends = _ends(client, committed)
    return _group(name, described, committed, ends)


# Resetting -------------------------------------------------------------------


def _require_empty(client: KafkaAdminClient, name: str) -> dict:
    described = _described(client, [name]).get(name, {})
    members = described.get("members") or []
    if members:
        raise GroupActive(
            f"group {name!r} has {len(members)} active member(s): Kafka takes offset changes "
            "from outside a group only while it is empty; stop its consumers first"
        )
    return described


def _clamp(offset: int, earliest: int, latest: int) -> int:
    return min(max(offset, earliest), latest)


def _plan(client: KafkaAdminClient, name: str, spec: ResetSpec) -> list[OffsetChange]:
    topic = describe_one(client, spec.topic)
    existing = sorted(p["partition_index"] for p in topic["partitions"])
    chosen = existing if spec.partitions is None else sorted(set(spec.partitions))
    missing = sorted(set(chosen) - set(existing))
    if missing:
        raise InvalidRequest(
            f"partitions: {spec.topic!r} has no partition {', '.join(map(str, missing))} "
            f"(it has {len(existing)})"
        )
    tps = [TopicPartition(spec.topic, p) for p in chosen]
    bounds = partition_offsets(client, tps)
    committed = _committed(client, [name])[name]
    targets = _targets(client, spec, tps, committed, bounds)
    return [
        OffsetChange(tp.topic, tp.partition, committed.get(tp), _clamp(targets[tp], *bounds[tp]))
        for tp in tps
    ]


def _targets(
    client: KafkaAdminClient,
    spec: ResetSpec,
    tps: list[TopicPartition],
    committed: Mapping[TopicPartition, int],
    bounds: Mapping[TopicPartition, tuple[int, int]],
) -> dict[TopicPartition, int]:
    """Each partition's target before clamping."""
    if spec.to == "earliest":
        return {tp: bounds[tp][0] for tp in tps}
    if spec.to == "latest":
        return {tp: bounds[tp][1] for tp in tps}
    if spec.to == "offset":
        return dict.fromkeys(tps, spec.value)
    if spec.to == "shift":
        without = [tp.partition for tp in tps if tp not in committed]
        if without:
            raise InvalidRequest(
                f"partition {', '.join(map(str, without))} of {spec.topic!r} has no committed "
                "offset to shift from; reset it to earliest, latest, an offset or a time"
            )
        return {tp: committed[tp] + spec.value for tp in tps}
    # timestamp: the first offset appended at or after it (the broker's append time).
    # When every message is older, Kafka answers offset -1 and Tansu offset 0 with
    # timestamp -1: either way, the log end.
    found = client.list_partition_offsets(dict.fromkeys(tps, spec.value))
    return {
        tp: found[tp].offset if min(found[tp].offset, found[tp].timestamp) >= 0 else bounds[tp][1]
        for tp in tps
    }


def plan_reset(cluster: Cluster, name: str, spec: ResetSpec) -> list[OffsetChange]:
    """What a reset would change, per partition, clamped to each one's earliest and latest."""
    with admin(cluster) as client:
        _require_empty(client, name)
        return _plan(client, name, spec)


def reset_offsets(cluster: Cluster, name: str, spec: ResetSpec) -> list[OffsetChange]:
    """Plan the reset and commit it for the (empty) group; answers the plan applied."""
    with admin(cluster) as client:
        _require_empty(client, name)
        changes = _plan(client, name, spec)
        commits = {
            TopicPartition(c.topic, c.partition): OffsetAndMetadata(c.after, "", -1)
            for c in changes
        }
        _check_commits(name, client.alter_group_offsets(name, commits))
    return changes


def _check_commits(name: str, results: Mapping[TopicPartition, type]) -> None:
    failed = {tp: error for tp, error in results.items() if error is not kerrors.NoError}
    if not failed:
        return
    if any(issubclass(error, _MEMBERSHIP_ERRORS) for error in failed.values()):
        raise GroupActive(
            f"group {name!r} has active members: the cluster refused the offsets "
            "(stop its consumers first)"
        )
    listed = ", ".join(f"{tp.topic}/{tp.partition}: {e.__name__}" for tp, e in failed.items())
    raise KafkaError(f"the cluster refused the offsets of group {name!r}: {listed}"[:300])


# Deleting --------------------------------------------------------------------


def delete_group(cluster: Cluster, name: str) -> list[OffsetChange]:
    """Delete an empty group; answers the committed offsets it had (each ``to`` None)."""
    with admin(cluster) as client:
        described = _require_empty(client, name)
        committed = _committed(client, [name])[name]
        if not _known(client, name, described, committed):
            raise UnknownGroup(f"group {name!r} does not exist")
        answer = client.delete_groups([name]).get(name)
    if answer != "OK":
        raise KafkaError(f"the cluster did not delete group {name!r}: {answer}")
    return [
        OffsetChange(tp.topic, tp.partition, offset, None)
        for tp, offset in sorted(committed.items(), key=lambda item: tuple(item[0]))
    ]
