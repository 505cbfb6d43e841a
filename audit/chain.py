"""Tamper evidence: a keyed hash on every record, and a chain of seals over them.

Each record carries ``mac``, an HMAC-SHA256 of its canonical JSON under the audit key
(``FLEX_AUDIT_KEY``, or one derived from ``SECRET_KEY``), computed by the gate before the
row is written. A background sealer (``seal_batch``, run by Celery after each commit and
by the beat sweep) takes unsealed records in (ts, id) order, checks their MAC and appends
an ``AuditSeal``: ``seq`` + 1 and ``hash = HMAC(seq, prev_hash, record id, ts, MAC)``.

The chain's order is the order of sealing, not of timestamps: a transaction that commits
late (its record older than ones already sealed) is simply sealed next. So no settle
window is needed and the request path never waits for the chain. A row inserted behind
Flex's back cannot be laundered by the sealer: without the key its MAC does not match,
and the sealer refuses it. One sealer runs at a time (a PostgreSQL advisory lock).

``verify`` walks the seals from the purge anchor (or the genesis hash) and names the first
altered, missing or inserted record; records not sealed yet are counted, not errors.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from audit.models import AuditAnchor, AuditRecord, AuditSeal, Delivery

log = logging.getLogger("flex.audit")

SINK = "chain"  # the outbox rows that ask for a record to be sealed
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


def _anchor_mac(anchor: AuditAnchor) -> str:
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
            Delivery.objects.filter(sink=SINK, status=Delivery.PENDING)
            .select_related("record")
            .order_by("next_attempt_at", "record_id")[:limit]
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


def _settle(sealed: list[int], refused: list[int], now: datetime) -> None:
    common = {"attempts": 1, "last_attempt_at": now}
    if sealed:
        Delivery.objects.filter(sink=SINK, record_id__in=sealed).update(
            status=Delivery.DELIVERED, delivered_at=now, **common
        )
    if refused:
        Delivery.objects.filter(sink=SINK, record_id__in=refused).update(
            status=Delivery.FAILED,
            last_error="the record does not match its MAC: altered, or not written by Flex",
            **common,
        )


# Verification --------------------------------------------------------------------------


@dataclass
class Problem:
    kind: str  # altered | missing | inserted | broken | key
    message: str
    record_id: str | None = None
    seq: int | None = None


@dataclass
class Report:
    """What ``verify`` found: counts, and the problems in chain order."""

    sealed: int = 0
    unsealed: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(*, chunk: int = 2000) -> Report:
    """Check every seal against its record and its predecessor, then the unsealed records."""
    report = Report()
    expected_seq, prev, prev_id = _start(report)
    current_key = key_id()
    last = expected_seq - 1
    while True:
        seals = list(AuditSeal.objects.filter(seq__gt=last).order_by("seq")[:chunk])
        if not seals:
            break
        records = AuditRecord.objects.in_bulk([s.record_id for s in seals])
        for seal in seals:
            if seal.key_id != current_key:
                report.problems.append(_other_key(seal))
                return report
            _check_seal(seal, records.get(seal.record_id), expected_seq, prev, prev_id, report)
            expected_seq, prev, prev_id = seal.seq + 1, seal.hash, seal.record_id
        last = seals[-1].seq
    _check_unsealed(report, chunk)
    return report


def _start(report: Report) -> tuple[int, str, UUID | None]:
    anchor = AuditAnchor.objects.order_by("-purged_through_seq").first()
    if anchor is None:
        return 1, GENESIS, None
    if not hmac.compare_digest(_anchor_mac(anchor), anchor.mac):
        report.problems.append(
            Problem(
                "broken",
                f"the purge anchor at #{anchor.purged_through_seq} was altered or forged",
                seq=anchor.purged_through_seq,
            )
        )
    return anchor.purged_through_seq + 1, anchor.hash, None


def _other_key(seal: AuditSeal) -> Problem:
    return Problem(
        "key",
        f"seal #{seal.seq} was made with another audit key (key id {seal.key_id}, this one "
        f"is {key_id()}): set FLEX_AUDIT_KEY (or SECRET_KEY) to the key that sealed it",
        record_id=str(seal.record_id),
        seq=seal.seq,
    )


def _check_seal(
    seal: AuditSeal,
    record: AuditRecord | None,
    expected_seq: int,
    prev: str,
    prev_id: UUID | None,
    report: Report,
) -> None:
    report.sealed += 1
    report.first_seq = report.first_seq or seal.seq
    report.last_seq = seal.seq
    rid = str(seal.record_id)
    if seal.seq != expected_seq:
        after = f"after record {prev_id}" if prev_id else "at the start of the chain"
        report.problems.append(
            Problem(
                "missing",
                f"missing: seals #{expected_seq}–#{seal.seq - 1} and their records are gone "
                f"({after}, before record {rid})",
                record_id=rid,
                seq=expected_seq,
            )
        )
    elif seal.prev_hash != prev:
        report.problems.append(
            Problem(
                "broken",
                f"seal #{seal.seq} (record {rid}) does not follow the seal before it",
                rid,
                seal.seq,
            )
        )
    if link(seal.seq, seal.prev_hash, seal.record_id, seal.record_ts, seal.record_mac) != seal.hash:
        report.problems.append(
            Problem(
                "broken", f"seal #{seal.seq} (record {rid}) was altered or forged", rid, seal.seq
            )
        )
    if record is None:
        report.problems.append(
            Problem("missing", f"missing record {rid} (seal #{seal.seq}): deleted", rid, seal.seq)
        )
    elif record.ts != seal.record_ts or not hmac.compare_digest(
        record_mac(record), seal.record_mac
    ):
        report.problems.append(
            Problem(
                "altered",
                f"altered record {rid} (seal #{seal.seq}): changed after sealing",
                rid,
                seal.seq,
            )
        )


def _check_unsealed(report: Report, chunk: int) -> None:
    sealed = AuditSeal.objects.filter(record_id=OuterRef("pk"))
    unsealed = AuditRecord.objects.filter(~Exists(sealed)).order_by("ts", "id")
    for record in unsealed.iterator(chunk_size=chunk):
        if hmac.compare_digest(record_mac(record), record.mac):
            report.unsealed += 1
            continue
        rid = str(record.pk)
        report.problems.append(
            Problem(
                "inserted",
                f"inserted record {rid}: not sealed and it does not match its MAC "
                "(written behind Flex's back, or altered before it was sealed)",
                rid,
            )
        )


def state_for(records: Iterable[AuditRecord | UUID | str]) -> dict[UUID, str]:
    """Each record's place in the chain: ``"sealed #n"``, ``"unsealed"`` or ``"refused: …"``."""
    ids = [r.pk if isinstance(r, AuditRecord) else UUID(str(r)) for r in records]
    seals = dict(AuditSeal.objects.filter(record_id__in=ids).values_list("record_id", "seq"))
    refused = set(
        Delivery.objects.filter(record_id__in=ids, sink=SINK, status=Delivery.FAILED).values_list(
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

    Each batch deletes the records, their deliveries and seals in one transaction that
    the append-only trigger lets DELETE through, and leaves an anchor (the last purged
    seal's number and hash) where verification starts. Unsealed records are kept.
    """
    result = PurgeResult(cutoff=cutoff)
    while True:
        deleted, through = _purge_batch(cutoff, batch)
        if not through:
            break
        result.records += deleted
        result.through_seq = through
    from audit.models import DeliveryAttempt

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
        anchor.mac = _anchor_mac(anchor)
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
    deliveries = Delivery._meta.db_table
    span = f"SELECT record_id FROM {seals} WHERE seq >= %s AND seq <= %s"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL flex.audit_purge = 'on'")
        cursor.execute(f"DELETE FROM {deliveries} WHERE record_id IN ({span})", [first, last])  # noqa: S608
        cursor.execute(f"DELETE FROM {records} WHERE id IN ({span})", [first, last])  # noqa: S608
        deleted = cursor.rowcount
        cursor.execute(f"DELETE FROM {seals} WHERE seq >= %s AND seq <= %s", [first, last])  # noqa: S608
    return deleted
