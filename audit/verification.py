"""Verification of the seal chain: every seal against its record and its predecessor.

``verify`` walks the seals from the purge anchor (or the genesis hash) and names the first
altered, missing or inserted record; records not sealed yet are counted, not errors.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from uuid import UUID

from django.db.models import Exists, OuterRef

from audit.chain import GENESIS, anchor_mac, key_id, link, record_mac
from audit.models import AuditAnchor, AuditRecord, AuditSeal


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
    if not hmac.compare_digest(anchor_mac(anchor), anchor.mac):
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
