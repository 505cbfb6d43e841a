"""The audit store: records (never changed), their delivery state, and the seal chain.

Each table has one job:

- ``AuditRecord``: what happened, written once by the gate. A PostgreSQL trigger rejects
  UPDATE and DELETE (migration 0003); only ``audit_purge`` deletes, for retention.
- ``Delivery``: the outbox. One row per record and sink (``kafka``, ``slack``, ``webhook``),
  written in the record's transaction, changed as it is delivered.
- ``DeliveryAttempt``: one row per attempt to reach a sink, for operators.
- ``PendingSeal``: the sealer's queue. One row per record not sealed yet, written in the
  record's transaction, deleted when the record is sealed (or kept, marked, if refused).
- ``AuditSeal`` and ``AuditAnchor``: the tamper-evident chain (see ``audit/chain.py``).
- ``SigningKey``, ``MerkleNode`` and ``Checkpoint``: the verifiable ledger anyone can check
  with public keys (see ``audit/signing.py`` and ``audit/ledger.py``).
"""

from __future__ import annotations

import random
import threading
import time
import uuid

from django.db import models

_last_uuid7 = 0  # the last id made here (as ms << 12 | counter): ids never go backwards
_uuid7_lock = threading.Lock()


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7): ids sort by creation time, within one
    millisecond too (the 12 bits after the time count up, RFC 9562 §6.2 method 1).

    Records are sealed in (ts, id) order, and ts has whole milliseconds: without the
    counter, two records of one millisecond would be sealed in random order. Its random
    bits make ids unique, not secret: the fast generator is enough.
    """
    global _last_uuid7
    with _uuid7_lock:
        stamp = max((time.time_ns() // 1_000_000) << 12, _last_uuid7 + 1)
        _last_uuid7 = stamp
    ms, counter = stamp >> 12, stamp & 0xFFF
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= random.getrandbits(62)
    return uuid.UUID(int=value)


class AuditRecord(models.Model):
    """One user action or event, as it happened. Written once, never changed.

    The indexed columns are snapshots taken from the document for filtering; the
    document is the record as published to the audit topic and sinks. ``mac`` is a
    keyed hash of the row written with it, so a row Flex did not write is recognised;
    ``signature`` is what consumers check the published document with.
    """

    SUCCEEDED, FAILED, DENIED, STAGED = "succeeded", "failed", "denied", "staged"
    OUTCOMES = [
        (SUCCEEDED, "succeeded"),
        (FAILED, "failed"),
        (DENIED, "denied"),
        (STAGED, "staged"),  # a Stage policy made it a request for approval
    ]

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    ts = models.DateTimeField(db_index=True)
    flex_user_id = models.UUIDField(null=True, blank=True)
    user_pk = models.IntegerField(null=True, blank=True)
    login = models.CharField(max_length=150, blank=True)
    type = models.CharField(max_length=40)
    event = models.CharField(max_length=80)
    action = models.CharField(max_length=40, blank=True)
    outcome = models.CharField(max_length=10, choices=OUTCOMES)
    cluster_id = models.CharField(max_length=100, blank=True)
    resource_name = models.CharField(max_length=300, blank=True)
    document = models.JSONField()
    mac = models.CharField(max_length=64, blank=True, editable=False)
    # Signed as written (audit/published.py): the Ed25519 signature of the text published,
    # the signing key's id and the SHA-256 of that text; empty when no key was at hand.
    signature = models.CharField(max_length=100, blank=True, default="", db_default="")
    key_id = models.CharField(max_length=16, blank=True, default="", db_default="")
    signed_sha256 = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-ts", "-id"]
        indexes = [
            models.Index(fields=["-ts", "-id"], name="audit_ts_id"),
            # Each filter's index ends in the list's whole order (ts, id): a filtered page is
            # one index range read 51 rows deep, never a sort (audit/migrations/0005).
            models.Index(fields=["flex_user_id", "-ts", "-id"], name="audit_user_ts_id"),
            models.Index(fields=["login", "-ts", "-id"], name="audit_login_ts_id"),
            models.Index(fields=["event", "-ts", "-id"], name="audit_event_ts_id"),
            models.Index(fields=["action", "-ts", "-id"], name="audit_action_ts_id"),
            models.Index(fields=["outcome", "-ts", "-id"], name="audit_outcome_ts_id"),
            models.Index(fields=["cluster_id", "-ts", "-id"], name="audit_cluster_ts_id"),
            models.Index(fields=["type", "-ts", "-id"], name="audit_type_ts_id"),
            models.Index(fields=["resource_name", "-ts", "-id"], name="audit_resource_ts_id"),
        ]

    def __str__(self) -> str:
        return f"{self.ts:%Y-%m-%d %H:%M:%S} {self.login} {self.event} {self.outcome}"


class Delivery(models.Model):
    """Where one record stands with one sink: the transactional outbox row.

    Created pending in the record's transaction. A worker claims due rows by pushing
    ``next_attempt_at`` past a lease, then marks them delivered, failed (permanently,
    with the reason) or pending again with a backed-off ``next_attempt_at``.
    """

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
    STATUSES = [(PENDING, "pending"), (DELIVERED, "delivered"), (FAILED, "failed")]

    # Keyed by (record, sink): no serial id to maintain on the request path. No database
    # constraint: the gate writes a record and its outbox rows in one statement, and the
    # purge deletes them together.
    pk = models.CompositePrimaryKey("record_id", "sink")
    record = models.ForeignKey(
        AuditRecord,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,
    )
    sink = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(
                fields=["sink", "next_attempt_at"],
                name="audit_delivery_due",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_id} → {self.sink}: {self.status}"


class DeliveryAttempt(models.Model):
    """One attempt to hand records to a sink: a Kafka batch, or one Slack or webhook post."""

    sink = models.CharField(max_length=20)
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    record_ids = models.JSONField(default=list)
    delivered = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    permanent = models.BooleanField(default=False)
    retry_after = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        state = "ok" if not self.error else ("failed" if self.permanent else "retry")
        return f"{self.sink} {self.started_at:%H:%M:%S} {len(self.record_ids)} records {state}"


class PendingSeal(models.Model):
    """A record waiting for the sealer: written in the record's transaction, deleted in the
    sealer's as the record is sealed. A record that does not match its MAC is refused:
    its row stays, with ``refused_at`` and the reason, and is never sealed."""

    # No database constraint, as for Delivery: the gate writes the record and this row in
    # one statement, and the purge deletes them together.
    record = models.OneToOneField(
        AuditRecord,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="pending_seal",
        db_constraint=False,
    )
    refused_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.record_id}: {'refused' if self.refused_at else 'pending'}"


class AuditSeal(models.Model):
    """A link of the chain: record ``record_id`` sealed as number ``seq``.

    ``record_mac`` is the record's keyed hash when it was sealed; ``hash`` chains it to the
    previous seal's hash. Never changed; deleted only by the purge with its record.
    """

    seq = models.BigIntegerField(primary_key=True)
    record_id = models.UUIDField(unique=True)
    record_ts = models.DateTimeField()
    record_mac = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    sealed_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.record_id}"


class AuditAnchor(models.Model):
    """Where the chain starts after a purge: the last purged seal's number and hash."""

    purged_through_seq = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    cutoff = models.DateTimeField()
    records = models.PositiveIntegerField()
    purged_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    mac = models.CharField(max_length=64)

    class Meta:
        ordering = ["-purged_through_seq"]

    def __str__(self) -> str:
        return f"purged through #{self.purged_through_seq}"


class SigningKey(models.Model):
    """A public key records and checkpoints were signed with (Ed25519).

    Listed at ``GET /api/audit/keys`` so consumers verify signatures without trusting Flex;
    a key replaced by another is kept, with ``retired`` set, so what it signed still verifies.
    """

    id = models.CharField(max_length=16, primary_key=True)  # sha256(raw public key)[:16] hex
    alg = models.CharField(max_length=20, default="Ed25519")
    public_key = models.CharField(max_length=64)  # base64 of the raw 32 bytes
    created = models.DateTimeField()
    retired = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.alg} {self.id}{' (retired)' if self.retired else ''}"


class MerkleNode(models.Model):
    """A perfect subtree of the Merkle tree over sealed records (RFC 6962 hashing).

    ``level`` 0 holds leaf hashes (``position`` = seal number - 1); the node at
    (``level``, ``position``) covers leaves ``position * 2**level`` to
    ``(position + 1) * 2**level - 1``. Written as the tree grows, never changed: a proof
    reads O(log n) of them.
    """

    pk = models.CompositePrimaryKey("level", "position")
    level = models.SmallIntegerField()
    position = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        return f"level {self.level} #{self.position}"


class Checkpoint(models.Model):
    """A signed tree head: the first ``records`` sealed records have Merkle root ``root``,
    and the chain's hash at seal ``records`` is ``head``. Published to the audit topic as
    an ``audit/checkpoint`` record (``record_id``); never changed."""

    seq = models.BigIntegerField(primary_key=True)
    records = models.BigIntegerField()
    root = models.CharField(max_length=64)
    head = models.CharField(max_length=64)
    ts = models.BigIntegerField()  # milliseconds since the epoch, as records' ts
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=100)
    record_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}: {self.records} records"
