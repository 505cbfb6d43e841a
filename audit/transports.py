"""The sinks audit records are delivered to: the one module that talks to them.

Each sink is a ``Transport`` that builds its payload and classifies failures into
permanent (recorded with the reason, never retried) and retryable (backed off, or
retried after the sink's ``Retry-After``). ``SINKS`` maps sink names to classes.
``audit/delivery.py`` claims records, calls ``deliver`` and records the outcome.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from uuid import UUID

from django.conf import settings
from django.utils import timezone

log = logging.getLogger("flex.audit")

# Sinks answer these when the URL itself is wrong or gone: retrying cannot help.
PERMANENT_HTTP = {400, 401, 403, 404, 410}


class TransportError(Exception):
    """A delivery failed. ``permanent`` failures are not retried; ``retry_after`` is the
    sink's own wait (seconds), honoured before the next attempt."""

    def __init__(
        self, message: str, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass
class Item:
    """A record claimed for delivery to one sink."""

    record_id: UUID
    text: str  # the JSON document

    @cached_property
    def document(self) -> dict:
        return json.loads(self.text)


@dataclass
class Attempt:
    """One try at a sink: a whole Kafka batch, or one Slack or webhook post.

    ``error`` fails every item of the attempt; ``failed`` names items that failed inside an
    attempt that otherwise went through (Kafka reports per message).
    """

    items: list[Item]
    started_at: datetime
    duration_ms: int = 0
    error: TransportError | None = None
    failed: dict[UUID, TransportError] = field(default_factory=dict)

    def error_for(self, item: Item) -> TransportError | None:
        return self.error or self.failed.get(item.record_id)


class Transport:
    """A sink. Subclasses set ``name`` and implement ``send`` (or ``deliver`` for batches)."""

    name = ""
    batch_size = 20

    @classmethod
    def enabled(cls) -> bool:
        return True

    @classmethod
    def wants(cls, record_type: str) -> bool:
        return True

    def begin(self, items: list[Item]) -> Callable[[], list[Attempt]]:
        """Start delivering; the returned function finishes and reports the attempts.

        Sinks that can work in the background (Kafka's producer) return before they are
        done, so the outbox claims the next batch meanwhile.
        """
        attempts = self.deliver(items)
        return lambda: attempts

    def deliver(self, items: list[Item]) -> list[Attempt]:
        """Send items one at a time; stop at the first retryable failure (the sink is down)."""
        attempts = []
        for item in items:
            started, t0 = timezone.now(), time.monotonic()
            try:
                self.send(item)
                error = None
            except TransportError as exc:
                error = exc
            attempts.append(Attempt([item], started, _ms_since(t0), error))
            if error is not None and not error.permanent:
                break
        return attempts

    def send(self, item: Item) -> None:
        raise NotImplementedError


def _ms_since(t0: float) -> int:
    return int((time.monotonic() - t0) * 1000)


# Kafka ---------------------------------------------------------------------------------


class _KafkaState:
    """One producer per process, rebuilt after errors; when the topic was last ensured."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.producer = None
        self.ensured_at = 0.0

    def reset(self) -> None:
        with self.lock:
            producer, self.producer = self.producer, None
            self.ensured_at = 0.0
        if producer is not None:
            try:
                producer.close(timeout=0)
            except Exception:  # a broken producer may fail to close; it is thrown away
                log.debug("closing the audit producer failed", exc_info=True)


_kafka = _KafkaState()
ENSURE_EVERY = 60.0  # seconds: re-check the topic now and then (a broker may have lost it)


def _servers() -> list[str]:
    return settings.KAFKA_BOOTSTRAP_SERVERS.split(",")


def topic_configs() -> dict[str, str]:
    return {
        "cleanup.policy": "delete",
        "retention.ms": str(settings.FLEX_AUDIT_TOPIC_RETENTION_MS),
    }


def ensure_topic() -> None:
    """Create the audit topic with Flex's partitions and retention, or correct its configs.

    A Kafka-protocol broker may auto-create a topic a client merely names, with default
    settings; so Flex creates it explicitly before producing, and re-checks after errors.
    """
    from kafka import KafkaAdminClient
    from kafka.errors import TopicAlreadyExistsError

    timeout = settings.KAFKA_TIMEOUT_MS
    admin = KafkaAdminClient(
        bootstrap_servers=_servers(),
        client_id="flex-audit",
        request_timeout_ms=timeout,
        bootstrap_timeout_ms=timeout,
        reconnect_backoff_max_ms=1000,
    )
    try:
        brokers = len(admin.describe_cluster()["brokers"]) or 1
        spec = {
            "num_partitions": settings.FLEX_AUDIT_TOPIC_PARTITIONS,
            "replication_factor": min(3, brokers),
            "configs": topic_configs(),
        }
        try:
            admin.create_topics({settings.FLEX_AUDIT_TOPIC: spec})
            log.info("created the audit topic %s", settings.FLEX_AUDIT_TOPIC)
        except TopicAlreadyExistsError:
            _correct_configs(admin)
    finally:
        admin.close()


def _correct_configs(admin) -> None:
    from kafka.admin import ConfigResource

    topic = settings.FLEX_AUDIT_TOPIC
    resource = ConfigResource("TOPIC", topic)
    current = admin.describe_configs([resource], config_filter="all")["topic"][topic]
    wanted = topic_configs()
    changes = {k: v for k, v in wanted.items() if (current.get(k) or {}).get("value") != v}
    if changes:
        log.warning("the audit topic %s had %s; setting %s", topic, current.keys(), changes)
        admin.alter_configs(
            [ConfigResource("TOPIC", topic, configs=changes)],
            incremental=True,
            raise_on_unknown=False,
        )


def _ensure_or_carry_on() -> None:
    """Ensure the topic; where Flex may not manage topics (ACLs, policies), produce anyway
    to the topic the operators made. Any other failure (the broker is down) is raised."""
    from kafka import errors as kerrors

    try:
        ensure_topic()
    except (
        kerrors.TopicAuthorizationFailedError,
        kerrors.ClusterAuthorizationFailedError,
        kerrors.PolicyViolationError,
    ) as exc:
        log.warning("audit: cannot manage the audit topic (%s); producing to it as it is", exc)


def _producer():
    from kafka import KafkaProducer

    with _kafka.lock:
        if _kafka.producer is not None and time.monotonic() - _kafka.ensured_at < ENSURE_EVERY:
            return _kafka.producer
    _ensure_or_carry_on()
    with _kafka.lock:
        _kafka.ensured_at = time.monotonic()
        if _kafka.producer is None:
            timeout = settings.KAFKA_TIMEOUT_MS
            _kafka.producer = KafkaProducer(
                bootstrap_servers=_servers(),
                client_id="flex-audit",
                acks="all",
                enable_idempotence=True,
                allow_auto_create_topics=False,
                linger_ms=5,
                max_block_ms=timeout,
                request_timeout_ms=timeout,
                delivery_timeout_ms=2 * timeout + 100,
                bootstrap_timeout_ms=timeout,
                reconnect_backoff_max_ms=1000,
            )
        return _kafka.producer


def reset_producer() -> None:
    """Drop the producer (tests, and after errors): the next batch builds one and re-ensures."""
    _kafka.reset()


class KafkaTransport(Transport):
    """The audit topic on the primary cluster: record id as key, JSON document as value."""

    name = "kafka"
    batch_size = 1000

    def begin(self, items: list[Item]) -> Callable[[], list[Attempt]]:
        started, t0 = timezone.now(), time.monotonic()
        attempt = Attempt(items, started)
        try:
            producer = _producer()
            topic = settings.FLEX_AUDIT_TOPIC
            futures = [
                (
                    item,
                    producer.send(
                        topic, key=str(item.record_id).encode(), value=item.text.encode()
                    ),
                )
                for item in items
            ]
        except Exception as exc:  # the broker is down, the topic could not be made, …
            attempt.error = TransportError(f"Kafka: {_describe(exc)}")
            return lambda: self._done(attempt, t0)

        def finish() -> list[Attempt]:
            try:
                producer.flush(timeout=(2 * settings.KAFKA_TIMEOUT_MS + 1000) / 1000)
            except Exception as exc:
                attempt.error = TransportError(f"Kafka: {_describe(exc)}")
            for item, future in futures:
                if not future.is_done:
                    attempt.failed[item.record_id] = TransportError("Kafka: no acknowledgement")
                elif future.failed():
                    attempt.failed[item.record_id] = TransportError(
                        f"Kafka: {_describe(future.exception)}"
                    )
            return self._done(attempt, t0)

        return finish

    def deliver(self, items: list[Item]) -> list[Attempt]:
        return self.begin(items)()

    @staticmethod
    def _done(attempt: Attempt, t0: float) -> list[Attempt]:
        if attempt.error or attempt.failed:
            reset_producer()
        attempt.duration_ms = _ms_since(t0)
        return [attempt]


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.split(": Request ")[0][:300]


# HTTP sinks ----------------------------------------------------------------------------


def _classify(status: int, body: str, headers: dict, sink: str) -> TransportError | None:
    """None for success; else a permanent or retryable TransportError."""
    if 200 <= status < 300:
        return None
    reason = f"{sink} answered {status} {body.strip()[:200]}".strip()
    if status == 429:
        return TransportError(reason, retry_after=_retry_after(headers))
    return TransportError(reason, permanent=status in PERMANENT_HTTP)


def _retry_after(headers: dict) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class SlackTransport(Transport):
    """One Slack message per record, through an incoming webhook (SLACK_WEBHOOK_URL)."""

    name = "slack"
    batch_size = 10

    @classmethod
    def enabled(cls) -> bool:
        return bool(settings.SLACK_WEBHOOK_URL)

    @classmethod
    def wants(cls, record_type: str) -> bool:
        verbosity = settings.SLACK_WEBHOOK_VERBOSITY
        if verbosity == "ALL":
            return True
        if record_type.startswith("mutation/"):
            return True
        return verbosity == "QUERIES" and record_type.startswith("query/")

    @cached_property
    def client(self):
        from slack_sdk.webhook import WebhookClient

        # No retry handlers: backoff and Retry-After are the outbox's business.
        return WebhookClient(
            settings.SLACK_WEBHOOK_URL,
            timeout=settings.FLEX_AUDIT_SINK_TIMEOUT,
            retry_handlers=[],
        )

    def send(self, item: Item) -> None:
        text, attachment = slack_message(item.record_id, item.document)
        try:
            response = self.client.send(text=text, attachments=[attachment])
        except Exception as exc:  # timeouts, refused connections, DNS
            raise TransportError(f"Slack unreachable: {_describe(exc)}") from exc
        error = _classify(response.status_code, response.body or "", response.headers, "Slack")
        if error:
            raise error


OUTCOME_STYLE = {
    "succeeded": (":white_check_mark:", "#2eb886"),
    "failed": (":x:", "#d50200"),
    "denied": (":no_entry:", "#e8a723"),
}


def _esc(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(record_id: UUID, document: dict) -> tuple[str, dict]:
    """The text and attachment for one record: who did what, on which cluster, how it went."""
    data = document.get("data") or {}
    user = data.get("user") or {}
    event = data.get("event") or [""]
    request = event[1] if len(event) > 1 and isinstance(event[1], dict) else {}
    response = data.get("response") or {}
    status, error = response.get("status", ""), response.get("error")
    name = str(event[0]).split("/", 1)[-1]
    target = request.get("topic-name")
    what = f"{name}: {target}" if target else name
    kind = {"mutation": "Action", "query": "Query"}.get(document.get("type", "").split("/")[0])
    who = _who(user)
    text = f"{kind or 'Event'} `{_esc(what)}` by {who} *{_esc(status)}*"
    cluster = (document.get("ctx") or {}).get("cluster-id")
    if cluster:
        text += f" on cluster `{_esc(cluster_label(cluster))}`"
    emoji, colour = OUTCOME_STYLE.get(status, (":grey_question:", "#999999"))
    link = f"{settings.SITE_URL.rstrip('/')}/settings/audit-log/{record_id}/"
    attachment = {
        "color": colour,
        "text": f"{status.capitalize()}: {_esc(error)}" if error else "",
        "footer": f"<{link}|audit record {record_id}>",
        "fallback": f"{status}: {what}",
    }
    return f"{emoji} {text}", attachment


def _who(user: dict) -> str:
    login, name = user.get("login") or "someone", user.get("name")
    return f"*{_esc(name)}* ({_esc(login)})" if name else f"*{_esc(login)}*"


def cluster_label(cluster_id: str) -> str:
    """``name (id)`` when the cluster registry knows the id, else the id.

    Looked up through the app registry: audit does not import topics.
    """
    from django.apps import apps

    try:
        model = apps.get_model("topics", "Cluster")
        name = model.objects.filter(kafka_cluster_id=cluster_id).values_list("name", flat=True)
        name = name.first()
    except Exception:  # no registry, or no database at hand: the id alone will do
        name = None
    return f"{name} ({cluster_id})" if name else cluster_id


class WebhookTransport(Transport):
    """POSTs each record's JSON document to WEBHOOK_URL."""

    name = "webhook"
    batch_size = 20

    @classmethod
    def enabled(cls) -> bool:
        return bool(settings.WEBHOOK_URL)

    def send(self, item: Item) -> None:
        request = urllib.request.Request(  # noqa: S310  (the URL is http(s), checked at start)
            settings.WEBHOOK_URL,
            data=item.text.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "flex-audit",
                "X-Flex-Audit-Id": str(item.record_id),
            },
        )
        try:
            with urllib.request.urlopen(
                request, timeout=settings.FLEX_AUDIT_SINK_TIMEOUT
            ) as response:  # noqa: S310
                status, body, headers = response.status, "", dict(response.headers)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            status, headers = exc.code, dict(exc.headers)
        except Exception as exc:  # timeouts, refused connections, DNS
            raise TransportError(f"webhook unreachable: {_describe(exc)}") from exc
        error = _classify(status, body, headers, "webhook")
        if error:
            raise error


SINKS: dict[str, type[Transport]] = {
    "kafka": KafkaTransport,
    "slack": SlackTransport,
    "webhook": WebhookTransport,
}


def sinks_for(record_type: str) -> list[str]:
    """The enabled sinks that take records of this type."""
    return [name for name, cls in SINKS.items() if cls.enabled() and cls.wants(record_type)]
