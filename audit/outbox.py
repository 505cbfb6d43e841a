"""The outbox of audit records: claiming due rows, handing them to sinks, settling them.

The gate writes one ``Delivery`` row per enabled sink in the record's own transaction, so
a committed record is never without its outbox rows. A drain claims due rows in batches
(``SELECT … FOR UPDATE SKIP LOCKED`` then pushing ``next_attempt_at`` past a lease, so
several workers share the work and a crashed one's rows come back), hands them to the
sink's transport and records the outcome. Retryable failures back off exponentially (or
by the sink's ``Retry-After``); permanent ones keep their reason. When drains run is
``audit/scheduling.py``'s business.
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Min, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from audit.models import AuditRecord, Delivery, DeliveryAttempt
from audit.transports import SINKS, Attempt, Item, TransportError, sinks_for

T = TypeVar("T")

log = logging.getLogger("flex.audit")

BACKOFF_BASE = 2.0  # seconds before the first retry; doubles per attempt
BACKOFF_MAX = 600.0


def lease() -> timedelta:
    """How long claimed rows stay with their worker (FLEX_AUDIT_LEASE_SECONDS): a worker
    that dies mid-batch leaves them to the others after this."""
    return timedelta(seconds=settings.FLEX_AUDIT_LEASE_SECONDS)


def outbox_for(record_type: str) -> list[str]:
    """The outbox rows a new record gets: one for each enabled sink that takes it."""
    return sinks_for(record_type)


def enabled_sinks() -> list[str]:
    return [name for name, cls in SINKS.items() if cls.enabled()]


def backoff(attempts: int) -> float:
    """Seconds before retry number ``attempts`` + 1, with jitter so retries spread out."""
    delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.8, 1.0)  # noqa: S311  (jitter, not security)


def state_for(record_ids: Iterable[UUID | str]) -> dict[UUID, list[dict]]:
    """Per record, where it stands with each sink (sealing is ``chain.state_for``)."""
    ids = [UUID(str(r)) for r in record_ids]
    states: dict[UUID, list[dict]] = {rid: [] for rid in ids}
    rows = (
        Delivery.objects.filter(record_id__in=ids)
        .order_by("record_id", "sink")
        .values(
            "record_id",
            "sink",
            "status",
            "attempts",
            "last_error",
            "delivered_at",
            "next_attempt_at",
        )
    )
    for row in rows:
        states[row.pop("record_id")].append(row)
    return states


# Draining ------------------------------------------------------------------------------


def claim(sink: str, limit: int) -> list[Item]:
    """Claim up to ``limit`` due rows of ``sink`` for this worker, oldest first.

    Rows are locked with SKIP LOCKED (other workers take other rows) and leased by pushing
    ``next_attempt_at`` past the lease: if this worker dies, they come back by themselves.
    """
    now = timezone.now()
    if connection.vendor == "postgresql":
        return _claim_one_statement(sink, limit, now)
    rows = Delivery.objects.filter(sink=sink)
    with transaction.atomic():
        ids = list(
            rows.select_for_update(skip_locked=True)
            .filter(status=Delivery.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("record_id", flat=True)[:limit]
        )
        if not ids:
            return []
        rows.filter(record_id__in=ids).update(next_attempt_at=now + lease())
    claimed = (
        rows.filter(record_id__in=ids)
        .annotate(text=Cast("record__document", TextField()))
        .order_by("record__ts", "record_id")
        .values_list(
            "record_id", "text", "record__signature", "record__key_id", "record__signed_sha256"
        )
    )
    return [Item(*row) for row in claimed]


def _claim_one_statement(sink: str, limit: int, now: datetime) -> list[Item]:
    """``claim`` in one round trip: lock, lease and read the documents."""
    deliveries, records = Delivery._meta.db_table, AuditRecord._meta.db_table
    sql = f"""
        WITH due AS (
            SELECT record_id FROM {deliveries}
            WHERE sink = %s AND status = %s AND next_attempt_at <= %s
            ORDER BY next_attempt_at LIMIT %s
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE {deliveries} d SET next_attempt_at = %s FROM due
            WHERE d.sink = %s AND d.record_id = due.record_id
            RETURNING d.record_id
        )
        SELECT r.id, r.document::text, r.signature, r.key_id, r.signed_sha256
        FROM claimed JOIN {records} r ON r.id = claimed.record_id
        ORDER BY r.ts, r.id
    """  # noqa: S608  (table names from the models)
    with connection.cursor() as cursor:
        cursor.execute(sql, [sink, Delivery.PENDING, now, limit, now + lease(), sink])
        return [Item(*row) for row in cursor.fetchall()]


def drain(sink: str, *, deadline: float) -> int:
    """Deliver due records to ``sink`` in batches until none is due or ``deadline``
    (monotonic) passes; the number of records handled.

    While a batch is on its way (Kafka's producer sends in the background) the next one
    is claimed. After a failed batch the one claimed meanwhile is put back, untried.
    """
    transport_cls = SINKS.get(sink)
    if transport_cls is None or not transport_cls.enabled():
        return 0
    transport, size = transport_cls(), transport_cls.batch_size
    items, total = _reconnecting(claim, sink, size), 0
    while items:
        finish = _begin(transport, items)
        following = _reconnecting(claim, sink, size) if time.monotonic() < deadline else []
        attempts = _finish(finish, items)
        _reconnecting(settle, sink, items, attempts)
        total += len(items)
        if following and any(a.error for a in attempts):
            settle(sink, following, [])  # the sink is down: these wait with the others
            following = []
        items = following
    return total


def _reconnecting(step: Callable[..., T], *args) -> T:
    """Run a database step of a drain; if the connection dropped (a database restart or
    failover), once more on a new one. So a batch already on its way is still settled,
    instead of waiting out its lease and being sent again."""
    try:
        return step(*args)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        log.warning("audit: the database connection dropped during a drain; reconnecting")
        connection.close()
        return step(*args)


def _begin(transport, items: list[Item]) -> Callable[[], list[Attempt]]:
    try:
        return transport.begin(items)
    except Exception as exc:  # a bug in a transport must not wedge the outbox
        log.exception("delivering audit records to %s failed", transport.name)
        attempts = [Attempt(items, timezone.now(), error=TransportError(f"unexpected: {exc}"))]
        return lambda: attempts


def _finish(finish: Callable[[], list[Attempt]], items: list[Item]) -> list[Attempt]:
    try:
        return finish()
    except Exception as exc:
        log.exception("finishing an audit delivery failed")
        return [Attempt(items, timezone.now(), error=TransportError(f"unexpected: {exc}"))]


def settle(sink: str, items: list[Item], attempts: list[Attempt]) -> None:
    """Record each attempt and move every claimed row on: delivered, failed or due again."""
    now = timezone.now()
    tried = {item.record_id: a.error_for(item) for a in attempts for item in a.items}
    delivered = [rid for rid, error in tried.items() if error is None]
    failed = defaultdict(list)  # (permanent, error message, retry_after) -> record ids
    for rid, error in tried.items():
        if error is not None:
            failed[(error.permanent, error.message, error.retry_after)].append(rid)
    untried = [i.record_id for i in items if i.record_id not in tried]
    rows = Delivery.objects.filter(sink=sink)
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create(_attempt_rows(sink, attempts))
        if delivered:
            _delivered(sink, delivered, now)
        for (permanent, message, retry_after), ids in failed.items():
            _fail(rows.filter(record_id__in=ids), permanent, message, retry_after, now)
        if untried:
            # Not attempted because the sink just failed: try again with the failed ones.
            wait = max([backoff(1), *(e.retry_after or 0 for e in tried.values() if e)])
            rows.filter(record_id__in=untried).update(next_attempt_at=now + timedelta(seconds=wait))


def _delivered(sink: str, ids: list[UUID], now: datetime) -> None:
    if connection.vendor == "postgresql":  # one array parameter, not a thousand
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Delivery._meta.db_table} SET status = %s, attempts = attempts + 1,"  # noqa: S608
                " delivered_at = %s, last_attempt_at = %s, last_error = ''"
                " WHERE sink = %s AND record_id = ANY(%s)",
                [Delivery.DELIVERED, now, now, sink, ids],
            )
        return
    Delivery.objects.filter(sink=sink, record_id__in=ids).update(
        status=Delivery.DELIVERED,
        attempts=F("attempts") + 1,
        delivered_at=now,
        last_attempt_at=now,
        last_error="",
    )


def _fail(rows, permanent: bool, message: str, retry_after, now: datetime) -> None:
    common = {"attempts": F("attempts") + 1, "last_attempt_at": now, "last_error": message}
    if permanent:
        count = rows.update(status=Delivery.FAILED, **common)
        log.warning("audit delivery failed permanently for %d records: %s", count, message)
        return
    # Backoff depends on each row's attempts so far: group rows by their count.
    by_attempts = defaultdict(list)
    for rid, attempts in rows.values_list("record_id", "attempts"):
        by_attempts[attempts].append(rid)
    for attempts, ids in by_attempts.items():
        wait = max(backoff(attempts + 1), retry_after or 0)
        rows.filter(record_id__in=ids).update(
            next_attempt_at=now + timedelta(seconds=wait), **common
        )


def _attempt_rows(sink: str, attempts: list[Attempt]) -> list[DeliveryAttempt]:
    rows = []
    for attempt in attempts:
        error = attempt.error or next(iter(attempt.failed.values()), None)
        rows.append(
            DeliveryAttempt(
                sink=sink,
                started_at=attempt.started_at,
                duration_ms=attempt.duration_ms,
                record_ids=[str(i.record_id) for i in attempt.items],
                delivered=0 if attempt.error else len(attempt.items) - len(attempt.failed),
                error=error.message if error else "",
                permanent=bool(error and error.permanent),
                retry_after=error.retry_after if error else None,
            )
        )
    return rows


def next_due(sink: str) -> float | None:
    """Seconds until the first pending row of ``sink`` is due (negative: overdue)."""
    due = Delivery.objects.filter(sink=sink, status=Delivery.PENDING).aggregate(
        due=Min("next_attempt_at")
    )["due"]
    return None if due is None else (due - timezone.now()).total_seconds()
