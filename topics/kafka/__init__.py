"""The one package that talks to Kafka clusters: kafka-python is imported nowhere else.

``client`` keeps one admin client per cluster and turns kafka-python's errors into Flex's;
``topic_admin`` lists, describes, creates, deletes and configures topics; ``messages``
produces and reads; ``audit_topic`` keeps Flex's own audit topic. Every client is built
from the cluster's settings (TLS, SASL) and bounded by ``FLEX_KAFKA_TIMEOUT_MS``.
"""

from topics.kafka.audit_topic import AUDIT_CLIENT_ID, audit_producer, ensure_topic
from topics.kafka.client import (
    ClusterUnavailable,
    KafkaError,
    NotSupported,
    TopicExists,
    UnknownCluster,
    UnknownTopic,
    admin,
    call,
    client_options,
    describe_cluster,
    describe_error,
    reset_clients,
    translate,
)
from topics.kafka.messages import (
    Message,
    MessageSource,
    ReadQuery,
    ReadResult,
    message_size,
    message_source,
    produce,
    read_messages,
)
from topics.kafka.topic_admin import (
    KAFKA_DEFAULT,
    ConfigEntry,
    PartitionInfo,
    TopicDetail,
    TopicSummary,
    alter_topic_configs,
    broker_count,
    create_topic,
    delete_topic,
    describe_topic,
    is_internal,
    list_topics,
    topic_configs,
    truncate_topic,
)

__all__ = [
    "AUDIT_CLIENT_ID",
    "KAFKA_DEFAULT",
    "ClusterUnavailable",
    "ConfigEntry",
    "KafkaError",
    "Message",
    "MessageSource",
    "NotSupported",
    "PartitionInfo",
    "ReadQuery",
    "ReadResult",
    "TopicDetail",
    "TopicExists",
    "TopicSummary",
    "UnknownCluster",
    "UnknownTopic",
    "admin",
    "alter_topic_configs",
    "audit_producer",
    "broker_count",
    "call",
    "client_options",
    "create_topic",
    "delete_topic",
    "describe_cluster",
    "describe_error",
    "describe_topic",
    "ensure_topic",
    "is_internal",
    "list_topics",
    "message_size",
    "message_source",
    "produce",
    "read_messages",
    "reset_clients",
    "topic_configs",
    "translate",
    "truncate_topic",
]
