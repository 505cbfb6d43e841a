"""Connections to a cluster: the cached admin client, client settings, and errors.

One admin client per cluster is kept and reused. Every call is bounded by
``FLEX_KAFKA_TIMEOUT_MS``; a client that lost its broker is closed and rebuilt on the next
call, so Flex recovers from a broker restart by itself. kafka-python's errors become
``OperationError`` subclasses here (``topic_exists``, ``unknown_topic``, ``not_supported``,
``cluster_unavailable``, …).

The admin client is ``FlexAdminClient``: kafka-python 3.0.12 turns the ACL operations a
broker says a caller may perform into an enum while parsing DescribeGroups and Metadata
answers, and raises ``ValueError: 15 is not a valid ACLOperation`` on an answer carrying a
value it does not know (Tansu's). Flex never reads those operations, so it drops them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.conf import settings
from kafka import KafkaAdminClient
from kafka import errors as kerrors

from lib.errors import InvalidConfig, InvalidRequest, OperationError, TooLarge
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


class UnknownGroup(KafkaError):
    code = "unknown_group"
    status = 404


class GroupActive(KafkaError):
    code = "group_active"
    status = 409


# Errors that mean the connection, not the request, is at fault: drop the client.
CONNECTION_ERRORS = (
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


def cached_entry(cluster: Cluster) -> _Entry:
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


class FlexAdminClient(KafkaAdminClient):
    """kafka-python's admin client, without the ACL operations Flex never reads (see above)."""

    def _process_acl_operations(self, obj: dict) -> dict:
        obj.pop("authorized_operations", None)
        return obj


def _new_client(cluster: Cluster) -> KafkaAdminClient:
    return FlexAdminClient(**client_options(cluster))


@contextmanager
def admin(cluster: Cluster) -> Iterator[KafkaAdminClient]:
    """The cluster's admin client, one call at a time; lost connections raise ClusterUnavailable."""
    entry = cached_entry(cluster)
    if not entry.lock.acquire(timeout=settings.KAFKA_TIMEOUT_MS / 1000 * 2):
        raise ClusterUnavailable(f"cluster {cluster.name} is busy; try again")
    try:
        try:
            if entry.client is None:
                entry.client = _new_client(cluster)
            yield entry.client
        except CONNECTION_ERRORS as exc:
            _close(entry)
            raise ClusterUnavailable(
                f"cluster {cluster.name} is unreachable: {describe_error(exc)}"
            ) from exc
        except kerrors.KafkaError as exc:
            raise translate(exc) from exc
    finally:
        entry.lock.release()


def call(cluster: Cluster, fn: Callable[[KafkaAdminClient], T]) -> T:
    with admin(cluster) as client:
        return fn(client)


def describe_error(exc: BaseException) -> str:
    """A kafka-python error (raised, or a failed send's) as one short line."""
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
    if isinstance(exc, CONNECTION_ERRORS):
        return ClusterUnavailable(f"cluster is unreachable: {describe_error(exc)}")
    for kafka_type, flex_type in _TRANSLATIONS:
        if isinstance(exc, kafka_type):
            if flex_type is NotSupported:
                return NotSupported(f"not supported by this cluster: {describe_error(exc)}")
            return flex_type(describe_error(exc))
    return KafkaError(describe_error(exc))


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


@contextmanager
def client_errors(cluster: Cluster) -> Iterator[None]:
    """Producer and consumer errors as OperationErrors (the admin client has its own wrapper)."""
    try:
        yield
    except KafkaError:
        raise
    except (kerrors.KafkaError, OSError) as exc:
        error = translate(exc)
        if isinstance(error, ClusterUnavailable):
            error = ClusterUnavailable(
                f"cluster {cluster.name} is unreachable: {describe_error(exc)}"
            )
        raise error from exc


def client_options(cluster: Cluster) -> dict:
    timeout = settings.KAFKA_TIMEOUT_MS
    return {
        "client_id": "flex",
        "request_timeout_ms": timeout,
        "bootstrap_timeout_ms": timeout,
        "reconnect_backoff_max_ms": 1000,
        **cluster.client_config(),
    }
