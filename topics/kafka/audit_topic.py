"""The audit topic: created and kept by Flex, produced to with the cluster's own
connection settings (TLS, SASL) like every other client (``topics/audit_sink.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kerrors
from kafka.admin import ConfigResource

from topics.kafka.client import (
    client_options,
)
from topics.models import Cluster

log = logging.getLogger("flex.kafka")

# Used by the audit sink (topics/audit_sink.py): the same connection settings (TLS, SASL)
# as every other client of the cluster. Self-contained: it relies only on
# ``client_options`` and kafka-python above.

AUDIT_CLIENT_ID = "flex-audit"


def audit_producer(cluster: Cluster) -> KafkaProducer:
    """An idempotent producer for the audit topic: every write acknowledged by all replicas,
    never auto-creating a topic (``ensure_topic`` made it with Flex's settings)."""
    timeout = settings.KAFKA_TIMEOUT_MS
    return KafkaProducer(
        **{**client_options(cluster), "client_id": AUDIT_CLIENT_ID},
        acks="all",
        enable_idempotence=True,
        allow_auto_create_topics=False,
        linger_ms=5,
        max_block_ms=timeout,
        delivery_timeout_ms=2 * timeout + 100,
    )


def ensure_topic(cluster: Cluster, name: str, *, partitions: int, configs: dict[str, str]) -> None:
    """Create topic ``name`` (replicated min(3, brokers) times), or correct its configs.

    A Kafka-protocol broker may auto-create a topic a client merely names, with default
    settings; so the audit sink creates it explicitly before producing. Where Flex may not
    manage topics (ACLs, policies) it logs that and carries on with the topic as it is; any
    other failure (the broker is down) is raised, as kafka-python raised it.
    """
    admin_client = KafkaAdminClient(**{**client_options(cluster), "client_id": AUDIT_CLIENT_ID})
    try:
        brokers = len(admin_client.describe_cluster()["brokers"]) or 1
        spec = {
            "num_partitions": partitions,
            "replication_factor": min(3, brokers),
            "configs": configs,
        }
        try:
            admin_client.create_topics({name: spec})
            log.info("created the audit topic %s", name)
        except kerrors.TopicAlreadyExistsError:
            _correct_audit_configs(admin_client, name, configs)
    except (
        kerrors.TopicAuthorizationFailedError,
        kerrors.ClusterAuthorizationFailedError,
        kerrors.PolicyViolationError,
    ) as exc:
        log.warning("audit: cannot manage the audit topic (%s); producing to it as it is", exc)
    finally:
        admin_client.close()


def _correct_audit_configs(admin_client: KafkaAdminClient, name: str, wanted: dict) -> None:
    resource = ConfigResource("TOPIC", name)
    current = admin_client.describe_configs([resource], config_filter="all")["topic"][name]
    changes = {k: v for k, v in wanted.items() if (current.get(k) or {}).get("value") != v}
    if changes:
        log.warning("the audit topic %s had %s; setting %s", name, current.keys(), changes)
        admin_client.alter_configs(
            [ConfigResource("TOPIC", name, configs=changes)],
            incremental=True,
            raise_on_unknown=False,
        )


READ_STALL_SECONDS = 30.0  # give up when the end offsets are not reached for this long
READ_QUIET_MS = 1000  # then read on until the topic stays quiet for this long


def read_audit_topic(cluster: Cluster, name: str) -> Iterator[Any]:
    """Every record on topic ``name`` from each partition's start (kafka-python's
    ConsumerRecord), read without a consumer group: past the end offsets of the moment,
    until nothing more arrives for a second (some brokers report a batch's end offset
    short, so the end offsets alone may stop early)."""
    consumer = KafkaConsumer(
        **{**client_options(cluster), "client_id": AUDIT_CLIENT_ID},
        group_id=None,
        enable_auto_commit=False,
        allow_auto_create_topics=False,
        fetch_max_wait_ms=100,
    )
    try:
        tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        last_record = time.monotonic()
        while True:
            behind = any(consumer.position(tp) < ends[tp] for tp in tps)
            batches = consumer.poll(timeout_ms=500 if behind else READ_QUIET_MS)
            for records in batches.values():
                yield from records
            if batches:
                last_record = time.monotonic()
            elif not behind:
                return
            elif time.monotonic() - last_record > READ_STALL_SECONDS:
                raise kerrors.KafkaTimeoutError(f"reading {name} stalled before its end")
    finally:
        consumer.close(autocommit=False)
