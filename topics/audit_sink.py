"""The audit topic sink: every audit record mirrored to FLEX_AUDIT_TOPIC on the primary cluster.

It lives with the Kafka seam (``topics/kafka`` builds its producer and ensures the
topic), so the mirror uses the primary cluster's TLS and SASL settings like every other
Kafka client of Flex. ``topics/apps.py`` registers it into audit's sink registry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.utils import timezone

from audit import signing
from audit.crosscheck import TopicMessage
from audit.transports import Attempt, Item, Transport, TransportError, ms_since
from topics import kafka
from topics.models import Cluster, primary_cluster

log = logging.getLogger("flex.audit")

ENSURE_EVERY = 60.0  # seconds: re-check the topic now and then (a broker may have lost it)


class _KafkaState:
    """One producer per process, rebuilt after errors; when the topic was last ensured."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.producer = None
        self.cluster: Cluster | None = None
        self.ensured_at = 0.0

    def reset(self) -> None:
        with self.lock:
            producer, self.producer = self.producer, None
            self.cluster = None
            self.ensured_at = 0.0
        if producer is not None:
            try:
                producer.close(timeout=0)
            except Exception:  # a broken producer may fail to close; it is thrown away
                log.debug("closing the audit producer failed", exc_info=True)


_kafka = _KafkaState()


def topic_configs() -> dict[str, str]:
    return {
        "cleanup.policy": "delete",
        "retention.ms": str(settings.FLEX_AUDIT_TOPIC_RETENTION_MS),
    }


def ensure_topic(cluster: Cluster | None = None) -> None:
    """Create the audit topic with Flex's partitions and retention, or correct its configs."""
    kafka.ensure_topic(
        cluster or primary_cluster(),
        settings.FLEX_AUDIT_TOPIC,
        partitions=settings.FLEX_AUDIT_TOPIC_PARTITIONS,
        configs=topic_configs(),
    )


def _producer():
    with _kafka.lock:
        if _kafka.producer is not None and time.monotonic() - _kafka.ensured_at < ENSURE_EVERY:
            return _kafka.producer
        cluster = _kafka.cluster
    if cluster is None:  # once per producer build, not per record
        cluster = primary_cluster()
    ensure_topic(cluster)
    with _kafka.lock:
        _kafka.ensured_at = time.monotonic()
        if _kafka.producer is None:
            _kafka.producer = kafka.audit_producer(cluster)
            _kafka.cluster = cluster
        return _kafka.producer


def reset_producer() -> None:
    """Drop the producer (tests, and after errors): the next batch builds one and re-ensures."""
    _kafka.reset()


class KafkaTransport(Transport):
    """The audit topic on the primary cluster: record id as key, JSON document as value,
    its Ed25519 signature and key id as the headers ``flex-signature`` and ``flex-key-id``."""

    name = "kafka"
    batch_size = 1000
    order = 10
    signed = True  # the benchmark's baseline turns it off

    def begin(self, items: list[Item]) -> Callable[[], list[Attempt]]:
        started, t0 = timezone.now(), time.monotonic()
        attempt = Attempt(items, started)
        try:
            producer = _producer()
            topic = settings.FLEX_AUDIT_TOPIC
            futures = [
                (item, producer.send(topic, key=str(item.record_id).encode(), **message))
                for item, message in zip(items, self._messages(items), strict=True)
            ]
        except signing.SigningKeyError as exc:
            attempt.error = TransportError(f"cannot sign audit records: {exc}")
            return lambda: self._done(attempt, t0)
        except Exception as exc:  # the broker is down, the topic could not be made, …
            attempt.error = TransportError(f"Kafka: {kafka.describe_error(exc)}")
            return lambda: self._done(attempt, t0)

        def finish() -> list[Attempt]:
            try:
                producer.flush(timeout=(2 * settings.KAFKA_TIMEOUT_MS + 1000) / 1000)
            except Exception as exc:
                attempt.error = TransportError(f"Kafka: {kafka.describe_error(exc)}")
            for item, future in futures:
                if not future.is_done:
                    attempt.failed[item.record_id] = TransportError("Kafka: no acknowledgement")
                elif future.failed():
                    attempt.failed[item.record_id] = TransportError(
                        f"Kafka: {kafka.describe_error(future.exception)}"
                    )
            return self._done(attempt, t0)

        return finish

    def _messages(self, items: list[Item]) -> Iterator[dict]:
        """Value and headers of each message: the signature made when the record was
        written, or one made now when that does not cover the value (older records)."""
        signer = None
        for item in items:
            value = item.text.encode()
            if not self.signed:
                yield {"value": value}
                continue
            if item.signed_as_sent(value):
                signature, key_id = item.signature, item.key_id
            else:
                signer = signer or signing.current_signer()
                signature, key_id = signer.sign(value), signer.key_id
            headers = [("flex-signature", signature.encode()), ("flex-key-id", key_id.encode())]
            yield {"value": value, "headers": headers}

    def deliver(self, items: list[Item]) -> list[Attempt]:
        return self.begin(items)()

    @staticmethod
    def _done(attempt: Attempt, t0: float) -> list[Attempt]:
        if attempt.error or attempt.failed:
            reset_producer()
        attempt.duration_ms = ms_since(t0)
        return [attempt]


def read_topic() -> Iterator[TopicMessage]:
    """Every message on the audit topic now, from its start (``audit_verify --topic``)."""
    for message in kafka.read_audit_topic(primary_cluster(), settings.FLEX_AUDIT_TOPIC):
        yield TopicMessage(
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value or b"",
            headers={name: value or b"" for name, value in message.headers or []},
        )


def cluster_name(cluster_id: str) -> str | None:
    """The registry's name for a Kafka cluster id (for audit messages), or None."""
    return (
        Cluster.objects.filter(kafka_cluster_id=cluster_id).values_list("name", flat=True).first()
    )
