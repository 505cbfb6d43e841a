"""The read model: what the topic pages and the API show, asked of Kafka in one place.

Looking needs only that the user may use Flex at all (the door's question); every change
and every message read is an operation the gate decides and records instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.records import is_secret_key
from lib.errors import Refused
from rbac import actions, door
from topics import display, kafka
from topics.group_operations import group_resource
from topics.masking import MaskedRead, ShownMessage
from topics.models import Cluster, primary_cluster
from topics.operations import Target, topic_resource

HIDDEN = "[hidden]"

# Controls a topic page offers, by the action each needs.
TOPIC_ACTIONS = {
    "inspect": actions.TOPIC_INSPECT,
    "produce": actions.TOPIC_PRODUCE,
    "edit": actions.TOPIC_EDIT,
    "delete": actions.TOPIC_DELETE,
    "truncate": actions.TOPIC_TRUNCATE,
}


def require_authorized(user) -> None:
    """Looking at clusters and topics needs one of ``authorized_roles``; Refused otherwise."""
    if not door.is_authorized(user):
        raise Refused(door.NOT_AUTHORIZED)


def require_cluster(where: Target) -> Cluster:
    """The registered cluster, for pages that only look (unknown: UnknownCluster, a 404)."""
    return where.require()


@dataclass(frozen=True)
class ClusterRow:
    cluster: Cluster
    brokers: list[str]
    error: str | None

    def as_json(self) -> dict:
        return {
            "id": self.cluster.key,
            "name": self.cluster.name,
            "reachable": self.error is None,
            "brokers": self.brokers,
            "error": self.error,
        }


def clusters() -> list[ClusterRow]:
    """Every registered cluster with its brokers, or why it cannot be reached."""
    primary_cluster()
    rows = []
    for cluster in Cluster.objects.all():
        try:
            info = kafka.describe_cluster(cluster)
            brokers = [f"{b['host']}:{b['port']}" for b in info["brokers"]]
            rows.append(ClusterRow(cluster, brokers, None))
        except kafka.KafkaError as exc:
            rows.append(ClusterRow(cluster, [], exc.message))
    return rows


def topics(cluster: Cluster, *, query: str = "", internal: bool = False) -> tuple[list, int]:
    """Topics whose name contains ``query`` (any case), and how many internal ones are hidden."""
    found = kafka.list_topics(cluster)
    hidden = 0 if internal else sum(1 for t in found if t.internal)
    query = query.lower()
    shown = [t for t in found if (internal or not t.internal) and query in t.name.lower()]
    return shown, hidden


def summary_json(topic: kafka.TopicSummary) -> dict:
    return {
        "name": topic.name,
        "partitions": topic.partitions,
        "replication_factor": topic.replication_factor,
        "messages": topic.messages,
        "internal": topic.internal,
    }


def config_row(entry: kafka.ConfigEntry) -> dict:
    """A config as shown: secret values (the broker's flag, or a secret-looking name) hidden."""
    secret = entry.sensitive or is_secret_key(entry.name)
    return {
        "name": entry.name,
        "value": HIDDEN if secret and entry.value is not None else entry.value,
        "source": entry.source,
        "sensitive": secret,
        "read_only": entry.read_only,
    }


def configs(cluster: Cluster, name: str) -> list[dict]:
    return [config_row(entry) for entry in kafka.topic_configs(cluster, name).values()]


def topic(cluster: Cluster, name: str) -> kafka.TopicDetail:
    return kafka.describe_topic(cluster, name)


def message_json(shown: ShownMessage) -> dict:
    """A message as it leaves Flex (already masked by the read), with what was masked."""
    return {
        **display.render_message(shown.message, shown.covered, shown.indented),
        "masked": [mark.as_json() for mark in shown.marks],
    }


def messages_json(read: MaskedRead) -> dict:
    """A read's result for pages and the API: messages, whether partial, the data policies."""
    return {
        "messages": [message_json(m) for m in read.messages],
        "partial": read.partial,
        "data_policies": read.policies,
    }


def detail_json(detail: kafka.TopicDetail) -> dict:
    return {
        "name": detail.name,
        "internal": detail.internal,
        "replication_factor": detail.replication_factor,
        "messages": detail.messages,
        "partitions": [vars(p) for p in detail.partitions],
        "configs": [config_row(c) for c in detail.configs],
    }


def config_changes(current: list[dict], set_items: dict, reset_keys: list) -> list[dict]:
    """The before and after of a config change, for the preview (secrets stay hidden)."""
    before = {row["name"]: row["value"] for row in current}
    rows = [{"name": k, "before": before.get(k), "after": v} for k, v in set_items.items()]
    return rows + [{"name": k, "before": before.get(k), "after": None} for k in reset_keys]


def broker_count(cluster: Cluster | None) -> int | None:
    """For the create form's hint; None when unknown (the create checks it again)."""
    if cluster is None:
        return None
    try:
        return kafka.broker_count(cluster)
    except kafka.KafkaError:
        return None


def controls(user, where: Target, topic: str) -> dict[str, bool]:
    """Which controls to enable (display only: the gate decides when one is used)."""
    return {
        name: door.may(user, action, topic_resource(where.id, topic))
        for name, action in TOPIC_ACTIONS.items()
    }


def may_create(user, where: Target) -> bool:
    """Whether to offer Create: a policy may allow it for some name in the cluster."""
    return door.may(user, actions.TOPIC_CREATE, topic_resource(where.id, "*")) or (
        door.may_somewhere(user, actions.TOPIC_CREATE, where.id)
    )


# Consumer groups ------------------------------------------------------------

# Controls a group page offers, by the action each needs.
GROUP_ACTIONS = {"reset": actions.GROUP_EDIT, "delete": actions.GROUP_DELETE}
GROUP_SORTS = ("group_id", "lag")


def groups(cluster: Cluster, *, query: str = "", sort: str = "group_id") -> list[kafka.Group]:
    """Groups whose id contains ``query`` (any case), by id or by lag (largest first)."""
    query = query.lower()
    shown = [g for g in kafka.list_groups(cluster) if query in g.group_id.lower()]
    if sort == "lag":
        shown.sort(key=lambda g: (-g.lag, g.group_id))
    return shown


def group(cluster: Cluster, name: str) -> kafka.Group:
    return kafka.describe_group(cluster, name)


def group_summary_json(found: kafka.Group) -> dict:
    return {
        "group_id": found.group_id,
        "state": found.state,
        "members": len(found.members),
        "topics": found.topics,
        "lag": found.lag,
    }


def group_json(found: kafka.Group) -> dict:
    return {
        "group_id": found.group_id,
        "state": found.state,
        "members": [
            {"member_id": m.member_id, "client_id": m.client_id, "host": m.host}
            for m in found.members
        ],
        "offsets": [
            {
                "topic": row.topic,
                "partition": row.partition,
                "committed": row.committed,
                "end": row.end,
                "lag": row.lag,
            }
            for row in found.offsets
        ],
    }


def topic_groups(cluster: Cluster, topic: str) -> list[dict]:
    """The groups with offsets committed on ``topic``, with their lag on it."""
    return [
        {**group_summary_json(found), "lag": found.topic_lag(topic)}
        for found in kafka.list_groups(cluster, topic=topic)
    ]


def group_controls(user, where: Target, name: str) -> dict[str, bool]:
    """Which group controls to enable (display only: the gate decides when one is used)."""
    return {
        control: door.may(user, action, group_resource(where.id, name))
        for control, action in GROUP_ACTIONS.items()
    }
