"""The sinks audit records are delivered to: the base every sink builds on, and the registry.

Each sink is a ``Transport`` that builds its payload and classifies failures into
permanent (recorded with the reason, never retried) and retryable (backed off, or
retried after the sink's ``Retry-After``). Sinks live in modules of their own
(``audit/slack.py``, ``audit/webhook.py``, and the audit topic behind the Kafka seam in
``topics/audit_sink.py``) and ``register`` themselves when their app is ready; ``SINKS``
maps sink names to classes, listed by ``Transport.order``. ``audit/outbox.py`` claims
records, calls ``begin`` and records the outcome.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from uuid import UUID

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
    signature: str = ""  # as signed when written (audit/published.py), over signed_sha256
    key_id: str = ""
    signed_sha256: str = ""

    def signed_as_sent(self, value: bytes) -> bool:
        """Whether the signature made when the record was written covers ``value``."""
        return bool(self.signature) and hashlib.sha256(value).hexdigest() == self.signed_sha256

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
    """A sink. Subclasses set ``name`` and implement ``send`` (or ``begin`` for batches)."""

    name = ""
    batch_size = 20
    order = 100  # where the sink is listed (and its outbox row written) among the others

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
            attempts.append(Attempt([item], started, ms_since(t0), error))
            if error is not None and not error.permanent:
                break
        return attempts

    def send(self, item: Item) -> None:
        raise NotImplementedError


def ms_since(t0: float) -> int:
    return int((time.monotonic() - t0) * 1000)


def classify(status: int, body: str, headers: dict, sink: str) -> TransportError | None:
    """An HTTP sink's answer: None for success; else a permanent or retryable TransportError."""
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


# The registry --------------------------------------------------------------------------

SINKS: dict[str, type[Transport]] = {}


def register(cls: type[Transport]) -> type[Transport]:
    """Add a sink (or replace one of the same name); ``SINKS`` stays listed by ``order``."""
    entries = {**SINKS, cls.name: cls}
    SINKS.clear()
    SINKS.update(sorted(entries.items(), key=lambda entry: entry[1].order))
    return cls


def sinks_for(record_type: str) -> list[str]:
    """The enabled sinks that take records of this type."""
    return [name for name, cls in SINKS.items() if cls.enabled() and cls.wants(record_type)]


# Cluster names in messages ----------------------------------------------------------

_labeller: Callable[[str], str | None] | None = None


def set_cluster_labeller(fn: Callable[[str], str | None] | None) -> None:
    """How sinks name a cluster id: set by the app that keeps the cluster registry."""
    global _labeller
    _labeller = fn


def cluster_label(cluster_id: str) -> str:
    """``name (id)`` when the registered labeller knows the id, else the id."""
    try:
        name = _labeller(cluster_id) if _labeller else None
    except Exception:  # no registry, or no database at hand: the id alone will do
        log.debug("audit: naming cluster %s failed", cluster_id, exc_info=True)
        name = None
    return f"{name} ({cluster_id})" if name else cluster_id
