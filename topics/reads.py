"""The read model: what the topic pages and the API show, asked of Kafka in one place.

Looking needs only that the user may use Flex at all (the door's question); every change
and every message read is an operation the gate decides and records instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.http import HttpResponse

from audit.records import is_secret_key
from lib.errors import Refused
from rbac import actions, door
from topics import display, kafka
from topics.browse import BrowsePage, Cursor, cursor_text
from topics.configs import KAFKA_DEFAULTS, lists_only_overrides
from topics.group_operations import group_resource
from topics.masking import MaskedRead, ShownMessage
from topics.models import Cluster, primary_cluster
from topics.operations import Target, topic_resource
from topics.validation import TopicListQuery

HIDDEN = "[hidden]"

# Controls a topic page offers, by the action each needs.
TOPIC_ACTIONS = {
    "inspect": actions.TOPIC_INSPECT,
    "download": actions.TOPIC_DATA_DOWNLOAD,
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
    return _matching(kafka.list_topics(cluster), query, internal)


def _matching(found: list, query: str, internal: bool) -> tuple[list, int]:
    hidden = 0 if internal else sum(1 for t in found if t.internal)
    query = query.lower()
    shown = [t for t in found if (internal or not t.internal) and query in t.name.lower()]
    return shown, hidden


@dataclass(frozen=True)
class TopicPage:
    rows: list[kafka.TopicSummary]
    total: int  # topics matching, over every page
    pages: int
    hidden: int  # internal topics left out
    sizes_known: bool  # the cluster reports sizes (DescribeLogDirs)
    query: TopicListQuery

    @property
    def page(self) -> int:
        return self.query.page


def topic_page(cluster: Cluster, query: TopicListQuery) -> TopicPage:
    """One page of the topic list, sorted on the server; topics without a value for the
    column (a size or count the cluster does not report) come last either way."""
    found = kafka.list_topics(cluster)
    shown, hidden = _matching(found, query.query, query.internal)
    column = query.sort
    known = [t for t in shown if getattr(t, column) is not None]
    known.sort(key=lambda t: (getattr(t, column), t.name), reverse=query.descending)
    ordered = known + [t for t in shown if getattr(t, column) is None]
    start = (query.page - 1) * query.per_page
    pages = max(1, -(-len(ordered) // query.per_page))
    sizes_known = any(t.size is not None for t in found)
    rows = ordered[start : start + query.per_page]
    return TopicPage(rows, len(ordered), pages, hidden, sizes_known, query)


def summary_json(topic: kafka.TopicSummary) -> dict:
    return {
        "name": topic.name,
        "partitions": topic.partitions,
        "replication_factor": topic.replication_factor,
        "messages": topic.messages,
        "size": topic.size,
        "internal": topic.internal,
        "under_replicated": topic.under_replicated,
        "offline": topic.offline,
    }


def config_row(entry: kafka.ConfigEntry) -> dict:
    """A config as shown: secret values (the broker's flag, or a secret-looking name) hidden;
    an override with the default it replaces."""
    secret = entry.sensitive or is_secret_key(entry.name)
    return {
        "name": entry.name,
        "value": HIDDEN if secret and entry.value is not None else entry.value,
        "source": entry.source,
        "sensitive": secret,
        "read_only": entry.read_only,
        "default": HIDDEN if secret and entry.default is not None else entry.default,
        "default_source": entry.default_source,
        "overridden": entry.overridden,
        "reported": entry.reported,
        "note": entry.note,
    }


def with_defaults(entries: list[kafka.ConfigEntry]) -> list[kafka.ConfigEntry]:
    """Every topic config: what the broker lists, and — from a broker that lists only what was
    set on the topic (Tansu) — the others with Apache Kafka's default, marked not reported."""
    if not lists_only_overrides({entry.name for entry in entries}):
        return entries
    listed = {entry.name for entry in entries}
    filled = [
        kafka.ConfigEntry(
            key, value, kafka.KAFKA_DEFAULT, False, False, value, kafka.KAFKA_DEFAULT, False
        )
        for key, value in KAFKA_DEFAULTS.items()
        if key not in listed
    ]
    return sorted([*entries, *filled], key=lambda entry: entry.name)


def configs(cluster: Cluster, name: str) -> list[dict]:
    entries = list(kafka.topic_configs(cluster, name).values())
    return [config_row(entry) for entry in with_defaults(entries)]


def topic(cluster: Cluster, name: str) -> kafka.TopicDetail:
    return kafka.describe_topic(cluster, name)


def message_json(shown: ShownMessage, *, full: bool = False) -> dict:
    """A message as it leaves Flex (already masked by the read), with what was masked;
    ``full``: not cut at the display limit."""
    cut = None if full else display.SHOW_MAX_CHARS
    return {
        **display.render_message(shown.message, shown.covered, shown.indented, cut=cut),
        "masked": [mark.as_json() for mark in shown.marks],
    }


def page_json(page: BrowsePage, *, where: Target, topic: str, full: bool = False) -> dict:
    """A page of the message browser for pages and the API: its messages in the order
    stated, what the scan did, the cursors of the next and previous pages."""

    def cursor(value: Cursor | None) -> str | None:
        return cursor_text(value, cluster_id=where.id, topic=topic)

    return {
        "messages": [message_json(m, full=full) for m in page.read.messages],
        "order": page.order,
        "scanned": page.scanned,
        "matched": page.matched,
        "partial": page.read.partial,
        "next": cursor(page.next),
        "previous": cursor(page.previous),
        "data_policies": page.read.policies,
    }


def page_lines(page: BrowsePage) -> Iterator[bytes]:
    """A page as JSON Lines (a download): one whole message per line, masked."""
    for shown in page.read.messages:
        yield json.dumps(message_json(shown, full=True), ensure_ascii=False).encode() + b"\n"


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
        "configs": [config_row(c) for c in with_defaults(detail.configs)],
    }


def config_changes(current: list[dict], set_items: dict, reset_keys: list) -> list[dict]:
    """The before and after of a config change, for the preview (secrets stay hidden)."""
    before = {row["name"]: row["value"] for row in current if row["reported"]}
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


def download_response(page: BrowsePage, name: str) -> HttpResponse:
    """JSON Lines, named for the topic; the scan's counts in headers."""
    response = HttpResponse(b"".join(page_lines(page)), content_type="application/x-ndjson")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:200]
    response["Content-Disposition"] = f'attachment; filename="{safe}.jsonl"'
    response["X-Scanned"], response["X-Matched"] = str(page.scanned), str(page.matched)
    return response


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
