"""Checking the database against evidence kept outside it: a saved checkpoint, the topic.

The seal chain (``audit/verification.py``) proves the rows agree with each other; it cannot
see the newest records deleted together with their seals. These checks can:

- ``verify_checkpoint``: a checkpoint saved earlier (its signature checked) must still be
  the head of a prefix of the chain: every record it covers is rehashed from the records
  themselves, trusting no stored tree node; cut-off and rewritten history are named.
- ``verify_topic``: every message on the audit topic must carry a valid signature by a
  listed key (else it is forged); every record delivered to the topic within its retention
  must be there, and every record on the topic must be in the database unless purged.

The topic is read through a reader the Kafka app registers (``set_topic_reader``):
audit does not import Kafka.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from audit import merkle
from audit.ledger import BATCH, leaves_after, purged_through
from audit.models import AuditAnchor, AuditRecord, AuditSeal, Checkpoint, Delivery, MerkleNode
from audit.signing import keys_json
from audit.verification import Problem
from audit.verify import checkpoint_message, public_keys, signature_problem


@dataclass
class CrossReport:
    checked: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# A saved checkpoint ---------------------------------------------------------------------


def verify_checkpoint(saved: dict) -> CrossReport:
    """Whether the chain still extends ``saved`` (a checkpoint as served)."""
    report = CrossReport()
    try:
        message = checkpoint_message(saved)
        seq, size = int(saved["seq"]), int(saved["records"])
    except (KeyError, TypeError, ValueError):
        report.problems.append(Problem("checkpoint", "the file is not a checkpoint as served"))
        return report
    problem = signature_problem(
        public_keys(keys_json()), saved.get("key_id"), saved.get("signature"), message
    )
    if problem:
        report.problems.append(Problem("forged", f"checkpoint #{seq}: {problem}"))
    _compare_stored(report, saved, seq)
    last = AuditSeal.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    last = max(last, purged_through())
    if last < size:
        report.problems.append(
            Problem(
                "cut",
                f"cut off: checkpoint #{seq} covers {size} sealed records, the chain now ends "
                f"at seal #{last}: the newest {size - last} records were deleted with their "
                "seals",
                seq=last + 1,
            )
        )
        return report
    _rehash(report, saved, seq, size)
    return report


def _compare_stored(report: CrossReport, saved: dict, seq: int) -> None:
    stored = Checkpoint.objects.filter(seq=seq).first()
    if stored is None:
        report.problems.append(
            Problem("missing", f"checkpoint #{seq} is not in the database any more")
        )
    elif (stored.root, stored.records, stored.head) != (
        saved["root"],
        saved["records"],
        saved["head"],
    ):
        report.problems.append(
            Problem("rewritten", f"checkpoint #{seq} in the database differs from the saved one")
        )


def _rehash(report: CrossReport, saved: dict, seq: int, size: int) -> None:
    """Rehash the first ``size`` records; name the first that no longer matches its leaf."""
    first_bad: list[str] = []

    def leaves() -> Iterable[bytes]:
        done = 0
        while done < size:
            batch = list(leaves_after(done, min(BATCH, size - done)))
            if not batch:
                break
            stored = _stored_leaves(done, batch[-1][0])
            for number, leaf in batch:
                if number != done + 1 or leaf is None:
                    first_bad or first_bad.append(f"seal #{done + 1} or its record is missing")
                    leaf = b""
                elif stored.get(number - 1, leaf) != leaf and not first_bad:
                    first_bad.append(f"record sealed as #{number} was altered")
                done = number
                yield leaf
        report.checked = done

    root = merkle.root_of(leaves())
    head = AuditSeal.objects.filter(seq=size).values_list("hash", flat=True).first()
    if root.hex() != saved["root"] or (head is not None and head != saved["head"]):
        where = f" ({first_bad[0]})" if first_bad else ""
        report.problems.append(
            Problem(
                "rewritten",
                f"history rewritten: the first {size} sealed records no longer hash to the "
                f"root of checkpoint #{seq}{where}",
            )
        )


def _stored_leaves(after: int, through: int) -> dict[int, bytes]:
    rows = MerkleNode.objects.filter(level=0, position__gte=after, position__lt=through)
    return {p: bytes(h) for p, h in rows.values_list("position", "hash")}


# The audit topic ------------------------------------------------------------------------


@dataclass
class TopicMessage:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


_reader: Callable[[], Iterable[TopicMessage]] | None = None


def set_topic_reader(fn: Callable[[], Iterable[TopicMessage]] | None) -> None:
    """How the audit topic is read, from its start to its end now: set by the Kafka app."""
    global _reader
    _reader = fn


def verify_topic() -> CrossReport:
    """Forged messages on the topic, records missing from it, and records missing here."""
    if _reader is None:
        raise RuntimeError("no audit topic reader is registered (the topics app is not loaded)")
    report = CrossReport()
    keys = public_keys(keys_json())
    on_topic: dict[str, int] = {}  # record id -> its ts (ms)
    for message in _reader():
        report.checked += 1
        rid, ts = _identify(message)
        headers = {k: v.decode(errors="replace") for k, v in message.headers.items()}
        problem = signature_problem(
            keys, headers.get("flex-key-id"), headers.get("flex-signature"), message.value
        )
        if problem:
            where = f"partition {message.partition} offset {message.offset}"
            report.problems.append(
                Problem("forged", f"forged: {where} (id {rid or '?'}): {problem}", rid or None)
            )
        elif rid:
            on_topic[rid] = ts
    report.notes.append(f"{report.checked} messages on the topic, {len(on_topic)} records")
    _missing_from_topic(report, on_topic)
    _missing_from_database(report, on_topic)
    return report


def _identify(message: TopicMessage) -> tuple[str, int]:
    """The record id (a UUID, else "") and ts the message's value claims."""
    try:
        document = json.loads(message.value)
        return str(UUID(str(document["id"]))), int(document["ts"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", 0


def _missing_from_topic(report: CrossReport, on_topic: dict[str, int]) -> None:
    """Records delivered to the topic, young enough to be kept there, that it lacks."""
    since = timezone.now() - timedelta(milliseconds=settings.FLEX_AUDIT_TOPIC_RETENTION_MS)
    rows = Delivery.objects.filter(sink="kafka", record__ts__gte=since)
    pending = rows.filter(status=Delivery.PENDING).count()
    if pending:
        report.notes.append(f"{pending} records not delivered to the topic yet")
    delivered = rows.filter(status=Delivery.DELIVERED).values_list("record_id", flat=True)
    for rid in delivered.iterator(chunk_size=5000):
        if str(rid) not in on_topic:
            report.problems.append(
                Problem("missing", f"record {rid} was delivered but is not on the topic", str(rid))
            )


def _missing_from_database(report: CrossReport, on_topic: dict[str, int]) -> None:
    """Records on the topic that the database lacks, unless retention purged them."""
    anchor = AuditAnchor.objects.order_by("-purged_through_seq").first()
    purged_before = int(anchor.cutoff.timestamp() * 1000) if anchor else 0
    ids = list(on_topic)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        found = AuditRecord.objects.filter(id__in=chunk).values_list("id", flat=True)
        present = {str(rid) for rid in found}
        for rid in chunk:
            if rid not in present and on_topic[rid] >= purged_before:
                report.problems.append(
                    Problem(
                        "deleted",
                        f"record {rid} is on the topic but missing from the database "
                        "(deleted behind Flex's back)",
                        rid,
                    )
                )
