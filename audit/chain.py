"""Tamper evidence: a keyed hash on every record, and a chain of seals over them.

Each record carries ``mac``, an HMAC-SHA256 of its canonical JSON under the audit key
(``FLEX_AUDIT_KEY``, or one derived from ``SECRET_KEY``), computed by the gate before the
row is written. The gate queues each record for sealing (a ``PendingSeal`` row, written
with the record). A background sealer (``seal_batch``: the ``chain`` job, run by Celery
after each commit and by the beat sweep) takes pending records in (ts, id) order, checks
their MAC and appends an ``AuditSeal``: ``seq`` + 1 and
``hash = HMAC(seq, prev_hash, record id, ts, MAC)``, deleting the queue rows it sealed in
the same transaction. A record that does not match its MAC keeps its row, marked refused.

The chain's order is the order of sealing, not of timestamps: a transaction that commits
late (its record older than ones already sealed) is simply sealed next. So no settle
window is needed and the request path never waits for the chain. A row inserted behind
Flex's back cannot be laundered by the sealer: without the key its MAC does not match,
and the sealer refuses it. One sealer runs at a time (a PostgreSQL advisory lock).

``audit/verification.py`` walks the chain and names what was altered, removed or inserted.
``purge`` deletes a prefix of the chain older than the retention cutoff and leaves an
anchor, so verification starts from there.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import (
    AuditAnchor,
    AuditRecord,
    AuditSeal,
    Delivery,
    DeliveryAttempt,
    PendingSeal,
)

log = logging.getLogger("flex.audit")

JOB = "chain"  # the name the scheduler knows sealing by (a job, not a sink)
GENESIS = "0" * 64
LOCK_ID = 0x466C6578_41554454  # "FlexAUDT": the sealer's and the purge's advisory lock
BATCH = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _key() -> bytes:
    return _derive(settings.FLEX_AUDIT_KEY, settings.SECRET_KEY)


@functools.lru_cache(maxsize=4)
def _derive(audit_key: str, secret_key: str) -> bytes:
    if audit_key:
        return audit_key.encode()
    return hmac.new(secret_key.encode(), b"flex.audit.chain", hashlib.sha256).digest()


def key_id() -> str:
    """A short public name of the audit key: seals made under another key are told apart."""
    return _key_id(_key())


@functools.lru_cache(maxsize=4)
def _key_id(key: bytes) -> str:
    return hmac.new(key, b"key-id", hashlib.sha256).hexdigest()[:16]


def _mac(message: bytes) -> str:
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def micros(ts: datetime) -> int:
    return (ts - EPOCH) // timedelta(microseconds=1)


def canonical(record: AuditRecord) -> bytes:
    """The record's columns and document as canonical JSON (sorted keys, no spaces)."""
    fields = {
        "id": str(record.id),
        "ts": micros(record.ts),
        "flex_user_id": str(record.flex_user_id) if record.flex_user_id else None,
        "user_pk": record.user_pk,
        "login": record.login,
        "type": record.type,
        "event": record.event,
        "action": record.action,
        "outcome": record.outcome,
        "cluster_id": record.cluster_id,
        "resource_name": record.resource_name,
        # As stored: redaction made it jsonb-safe (whole floats are ints), so it reads back
        # from the database exactly as it was written.
        "document": record.document,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def record_mac(record: AuditRecord) -> str:
    return _mac(canonical(record))


def link(seq: int, prev_hash: str, record_id: UUID | str, ts: datetime, mac: str) -> str:
    return _mac(f"seal|{seq}|{prev_hash}|{record_id}|{micros(ts)}|{mac}".encode())


def anchor_mac(anchor: AuditAnchor) -> str:
    message = (
        f"anchor|{anchor.purged_through_seq}|{anchor.hash}|{micros(anchor.cutoff)}|{anchor.records}"
    )
    return _mac(message.encode())


def _lock(*, wait: bool) -> bool:
    """Take the chain's advisory lock for this transaction (PostgreSQL; elsewhere a no-op)."""
    if connection.vendor != "postgresql":
        return True
    fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {fn}(%s)", [LOCK_ID])
        return wait or bool(cursor.fetchone()[0])


def _head() -> tuple[int, str]:
    """The last seal's number and hash (or the purge anchor's, or the genesis)."""
    seal = AuditSeal.objects.order_by("-seq").values_list("seq", "hash").first()
    if seal:
        return seal
    anchor = AuditAnchor.objects.order_by("-purged_through_seq").first()
    if anchor:
        return anchor.purged_through_seq, anchor.hash
    return 0, GENESIS


# Sealing -------------------------------------------------------------------------------


def seal_batch(limit: int = BATCH) -> int:
    """Seal up to ``limit`` pending records in (ts, id) order; the number handled.

    Returns 0 when nothing is pending or another sealer holds the lock.
    """
    now = timezone.now()
    with transaction.atomic():
        if not _lock(wait=False):
            return 0
        rows = list(
            PendingSeal.objects.filter(refused_at=None)
            .select_related("record")
            .order_by("record__ts", "record_id")[:limit]
        )
        if not rows:
            return 0
        seq, prev = _head()
        seals, sealed, refused = [], [], []
        for row in rows:
            record = row.record
            mac = record_mac(record)
            if not hmac.compare_digest(mac, record.mac):
                refused.append(row.record_id)
                log.error("audit record %s does not match its MAC; not sealed", record.pk)
                continue
            seq += 1
            seal = _seal(seq, record, mac, prev, now)
            seals.append(seal)
            sealed.append(row.record_id)
            prev = seal.hash
        AuditSeal.objects.bulk_create(seals)
        _settle(sealed, refused, now)
    return len(rows)


def _seal(seq: int, record: AuditRecord, mac: str, prev: str, now: datetime) -> AuditSeal:
    return AuditSeal(
        seq=seq,
        record_id=record.pk,
        record_ts=record.ts,
        record_mac=mac,
        prev_hash=prev,
        hash=link(seq, prev, record.pk, record.ts, mac),
        key_id=key_id(),
        sealed_at=now,
    )


REFUSED = "the record does not match its MAC: altered, or not written by Flex"


def _settle(sealed: list[UUID], refused: list[UUID], now: datetime) -> None:
    if sealed:
        PendingSeal.objects.filter(record_id__in=sealed).delete()
    if refused:
        PendingSeal.objects.filter(record_id__in=refused).update(refused_at=now, reason=REFUSED)


def state_for(records: Iterable[AuditRecord | UUID | str]) -> dict[UUID, str]:
    """Each record's place in the chain: ``"sealed #n"``, ``"unsealed"`` or ``"refused: …"``."""
    ids = [r.pk if isinstance(r, AuditRecord) else UUID(str(r)) for r in records]
    seals = dict(AuditSeal.objects.filter(record_id__in=ids).values_list("record_id", "seq"))
    refused = set(
        PendingSeal.objects.filter(record_id__in=ids, refused_at__isnull=False).values_list(
            "record_id", flat=True
        )
    )
    states = {}
    for rid in ids:
        if rid in seals:
            states[rid] = f"sealed #{seals[rid]}"
        elif rid in refused:
            states[rid] = "refused: does not match its MAC"
        else:
            states[rid] = "unsealed"
    return states


# Retention -----------------------------------------------------------------------------


@dataclass
class PurgeResult:
    cutoff: datetime
    records: int = 0
    through_seq: int | None = None


def purge(*, cutoff: datetime, batch: int = 5000) -> PurgeResult:
    """Delete sealed records older than ``cutoff``: a prefix of the chain, in batches.

    Each batch deletes the records, their deliveries, queue rows and seals in one
    transaction that the append-only trigger lets DELETE through, and leaves an anchor
    (the last purged seal's number and hash) where verification starts. Unsealed records
    are kept.
    """
    result = PurgeResult(cutoff=cutoff)
    while True:
        deleted, through = _purge_batch(cutoff, batch)
        if not through:
            break
        result.records += deleted
        result.through_seq = through
    DeliveryAttempt.objects.filter(started_at__lt=cutoff).delete()
    return result


def _purge_batch(cutoff: datetime, batch: int) -> tuple[int, int | None]:
    with transaction.atomic():
        _lock(wait=True)
        span = _purge_span(cutoff, batch)
        if span is None:
            return 0, None
        first, last = span
        deleted = _delete_span(first, last.seq)
        anchor = AuditAnchor(
            purged_through_seq=last.seq,
            hash=last.hash,
            cutoff=cutoff,
            records=deleted,
            purged_at=timezone.now(),
            key_id=key_id(),
        )
        anchor.mac = anchor_mac(anchor)
        anchor.save()
    return deleted, last.seq


def _purge_span(cutoff: datetime, batch: int) -> tuple[int, AuditSeal] | None:
    """The first seal and the last one to purge in this batch, or None."""
    first = AuditSeal.objects.order_by("seq").values_list("seq", flat=True).first()
    if first is None:
        return None
    young = (
        AuditSeal.objects.filter(record_ts__gte=cutoff)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    end = first + batch - 1
    if young is not None:
        end = min(end, young - 1)
    if end < first:
        return None
    last = AuditSeal.objects.filter(seq__lte=end).order_by("-seq").first()
    return first, last


def _delete_span(first: int, last: int) -> int:
    records, seals = AuditRecord._meta.db_table, AuditSeal._meta.db_table
    span = f"SELECT record_id FROM {seals} WHERE seq >= %s AND seq <= %s"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL flex.audit_purge = 'on'")
        for table in (Delivery._meta.db_table, PendingSeal._meta.db_table):
            # A sealed record has no queue row left; deleted anyway, so none outlives it.
            cursor.execute(f"DELETE FROM {table} WHERE record_id IN ({span})", [first, last])  # noqa: S608
        cursor.execute(f"DELETE FROM {records} WHERE id IN ({span})", [first, last])  # noqa: S608
        deleted = cursor.rowcount
        cursor.execute(f"DELETE FROM {seals} WHERE seq >= %s AND seq <= %s", [first, last])  # noqa: S608
    return deleted
