"""The action catalogue: every action a policy may name.

It holds the whole action list of the console whose policy files Flex imports
unchanged, even where Flex has no operation for an action yet.
"""

from __future__ import annotations

TOPIC_INSPECT = "TOPIC_INSPECT"
TOPIC_DATA_QUERY = "TOPIC_DATA_QUERY"
TOPIC_DATA_DOWNLOAD = "TOPIC_DATA_DOWNLOAD"
TOPIC_PRODUCE = "TOPIC_PRODUCE"
TOPIC_CREATE = "TOPIC_CREATE"
TOPIC_EDIT = "TOPIC_EDIT"
TOPIC_DELETE = "TOPIC_DELETE"
TOPIC_TRUNCATE = "TOPIC_TRUNCATE"
GROUP_EDIT = "GROUP_EDIT"
GROUP_DELETE = "GROUP_DELETE"

CATALOGUE: tuple[str, ...] = (
    "TOPIC_INSPECT",
    "TOPIC_DATA_QUERY",
    "TOPIC_DATA_DOWNLOAD",
    "TOPIC_PRODUCE",
    "TOPIC_CREATE",
    "TOPIC_EDIT",
    "TOPIC_DELETE",
    "TOPIC_TRUNCATE",
    "TOPIC_ELECT_LEADER",
    "TOPIC_ALTER_REASSIGNMENTS",
    "GROUP_EDIT",
    "GROUP_DELETE",
    "BROKER_EDIT",
    "BROKER_UNREGISTER",
    "ACL_EDIT",
    "PRODUCER_EDIT",
    "QUOTA_EDIT",
    "BULK_ACTION",
    "ADMIN",
    "KPOW_ADMIN",
    "SCHEMA_CREATE",
    "SCHEMA_EDIT",
    "SCHEMA_VERSION_EDIT",
    "SCHEMA_DELETE",
    "CONNECT_CREATE",
    "CONNECT_EDIT",
    "CONNECT_EDIT_CONFIG",
    "CONNECT_ALTER_STATE",
    "CONNECT_DELETE",
    "CONNECT_INSPECT",
    "KSQLDB_QUERY",
    "KSQLDB_EXECUTE",
    "KSQLDB_TERMINATE_QUERY",
    "KSQLDB_INSERT",
)

# Actions Flex performs today, in the order the UI lists them.
FLEX_ACTIONS: tuple[str, ...] = (
    TOPIC_INSPECT,
    TOPIC_PRODUCE,
    TOPIC_CREATE,
    TOPIC_EDIT,
    TOPIC_DELETE,
    TOPIC_TRUNCATE,
    GROUP_EDIT,
    GROUP_DELETE,
)

# A policy naming any of these names decides the key action.
ALIASES: dict[str, frozenset[str]] = {
    TOPIC_INSPECT: frozenset({TOPIC_INSPECT, TOPIC_DATA_QUERY}),
    TOPIC_DATA_QUERY: frozenset({TOPIC_INSPECT, TOPIC_DATA_QUERY}),
}


def equivalents(action: str) -> frozenset[str]:
    """The action names a policy may carry to decide ``action``."""
    return ALIASES.get(action, frozenset({action}))
