"""The verifiable ledger: a Merkle tree over the sealed records, signed checkpoints, proofs.

Leaf ``n - 1`` of the tree is the record sealed as number ``n``; its leaf bytes are the
record's document exactly as Flex publishes it (the value on the audit topic, the
``value`` of a proof), so anyone holding the record hashes the leaf themselves:
``SHA-256(0x00 || value)``. Hashing is RFC 6962's (``audit/merkle.py``).

``checkpoint`` runs in the background (the ``audit.checkpoint`` beat task, seconds behind
the sealer, never on a request): it appends the newly sealed records' leaves and the
perfect subtrees they complete to ``MerkleNode``, then — when records other than
checkpoints were sealed since the last one — signs ``{"seq", "head", "root", "records",
"ts"}`` (``head``: the chain's hash at seal ``records``), stores it and records it as an
``audit/checkpoint`` record, which the outbox delivers to the topic like any other.

Proofs read O(log n) stored nodes. ``verify_checkpoint`` trusts none of them: it rehashes
every record covered by a checkpoint saved elsewhere, so records cut off or rewritten
since are named.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Max, Q, TextField
from django.db.models.functions import Cast

from audit import merkle
from audit.gate import Ctx, record_event
from audit.models import AuditAnchor, AuditRecord, AuditSeal, Checkpoint, MerkleNode
from audit.signing import SigningKeyError, current_signer, keys_json
from audit.verify import checkpoint_message, public_keys, signature_problem

log = logging.getLogger("flex.audit")

CHECKPOINT_TYPE = "audit/checkpoint"
JOB = "ledger"  # the scheduler's name for the checkpoint job (audit/apps.py)
LOCK_ID = 0x466C6578_4C454447  # "FlexLEDG": one tree builder at a time
BATCH = 5000  # leaves appended per transaction
BUDGET = 20.0  # seconds one run spends catching up before it signs what it has
SYSTEM_USER = {"provider": "flex", "email": "", "name": "Flex ledger", "login": "flex", "id": None}


class ProofUnavailable(Exception):
    """No proof can be given (yet): the message says why."""


# The tree -------------------------------------------------------------------------------


def tree_size() -> int:
    last = MerkleNode.objects.filter(level=0).aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


def nodes(blocks: set[merkle.Block]) -> dict[merkle.Block, bytes]:
    """The stored hashes of these perfect subtrees: one query, a clause per level."""
    by_level: dict[int, list[int]] = {}
    for level, position in blocks:
        by_level.setdefault(level, []).append(position)
    if not by_level:
        return {}
    where = Q()
    for level, positions in by_level.items():
        where |= Q(level=level, position__in=positions)
    rows = MerkleNode.objects.filter(where).values_list("level", "position", "hash")
    return {(level, position): bytes(value) for level, position, value in rows}


def root(size: int) -> bytes:
    found = nodes(set(merkle.range_blocks(0, size)))
    return merkle.range_hash(0, size, found.__getitem__)


def sealed(after: int, limit: int) -> list[tuple[int, UUID, str | None]]:
    """(seal number, record id, published document or None when the record is gone) for
    up to ``limit`` seals after number ``after``, in order."""
    seals = list(
        AuditSeal.objects.filter(seq__gt=after)
        .order_by("seq")
        .values_list("seq", "record_id")[:limit]
    )
    texts = dict(
        AuditRecord.objects.filter(id__in=[rid for _, rid in seals])
        .annotate(text=Cast("document", TextField()))
        .values_list("id", "text")
    )
    return [(seq, rid, texts.get(rid)) for seq, rid in seals]


def purged_through() -> int:
    anchor = AuditAnchor.objects.order_by("-purged_through_seq").first()
    return anchor.purged_through_seq if anchor else 0


def purged_leaf(seq: int) -> bytes:
    """The leaf of a record purged before the ledger could hash it (its bytes are gone)."""
    return merkle.leaf_hash(b"purged:%d" % seq)


def extend(limit: int = BATCH) -> int:
    """Append the leaves of up to ``limit`` newly sealed records; the tree's size after."""
    size = tree_size()
    known = nodes(set(merkle.range_blocks(0, size)))
    new = []
    for seq, leaf in leaves_after(size, limit):
        if seq != size + 1 or leaf is None:
            log.error("audit ledger: seal #%d or its record is missing; the tree stops", size + 1)
            break
        new += _append(known, size, leaf)
        size += 1
    MerkleNode.objects.bulk_create(MerkleNode(level=lv, position=p, hash=h) for lv, p, h in new)
    return size


def leaves_after(size: int, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(seal number, leaf hash) of up to ``limit`` seals after ``size``, from the records
    themselves; None for a record that is gone."""
    purged = purged_through()
    while size < purged and limit > 0:  # purged before hashed: a marker stands for each
        size, limit = size + 1, limit - 1
        yield size, purged_leaf(size)
    for seq, _, text in sealed(size, limit):
        yield seq, None if text is None else merkle.leaf_hash(text.encode())


def _append(known: dict, position: int, leaf: bytes) -> list[tuple[int, int, bytes]]:
    """Add a leaf and every perfect subtree it completes; the new (level, position, hash)."""
    level, value = 0, leaf
    known[(0, position)] = leaf
    new = [(0, position, leaf)]
    while position & 1:
        value = merkle.node_hash(known[(level, position - 1)], value)
        level, position = level + 1, position >> 1
        known[(level, position)] = value
        new.append((level, position, value))
    return new


def _lock() -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_ID])
        return bool(cursor.fetchone()[0])


# Checkpoints ----------------------------------------------------------------------------


def checkpoint(*, budget: float = BUDGET) -> Checkpoint | None:
    """Grow the tree with what was sealed, then sign a checkpoint of it if anything new."""
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        with transaction.atomic():
            if not _lock():
                return None
            before = tree_size()
            if extend() - before < BATCH:
                break
    with transaction.atomic():
        if not _lock():
            return None
        return sign_checkpoint(tree_size())


def sign_checkpoint(size: int) -> Checkpoint | None:
    """Sign, store and record a checkpoint of the first ``size`` leaves, unless the last
    one covers them already or only checkpoints were sealed since."""
    last = Checkpoint.objects.order_by("-seq").first()
    if size == 0 or (last and (last.records >= size or not _news(last.records, size))):
        return None
    try:
        signer = current_signer()
    except SigningKeyError as exc:
        log.error("audit ledger: no checkpoint signed: %s", exc)
        return None
    body = {
        "seq": last.seq + 1 if last else 1,
        "head": AuditSeal.objects.filter(seq=size).values_list("hash", flat=True).first() or "",
        "root": root(size).hex(),
        "records": size,
        "ts": time.time_ns() // 1_000_000,
    }
    signature = signer.sign(checkpoint_message(body))
    record = record_event(
        actor=None,
        user=SYSTEM_USER,
        type=CHECKPOINT_TYPE,
        event=CHECKPOINT_TYPE,
        request={**body, "signature": signature, "key-id": signer.key_id},
        ctx=Ctx(via="system"),
    )
    return Checkpoint.objects.create(
        **body, key_id=signer.key_id, signature=signature, record_id=record.id
    )


def _news(old: int, new: int) -> bool:
    """Whether records other than checkpoints were sealed as numbers old + 1 … new."""
    sealed = AuditSeal.objects.filter(seq__gt=old, seq__lte=new).values("record_id")
    return AuditRecord.objects.filter(id__in=sealed).exclude(type=CHECKPOINT_TYPE).exists()


def checkpoint_json(cp: Checkpoint) -> dict:
    return {
        "seq": cp.seq,
        "head": cp.head,
        "root": cp.root,
        "records": cp.records,
        "ts": cp.ts,
        "signature": cp.signature,
        "key_id": cp.key_id,
    }


def checkpoint_by(seq: int | None) -> Checkpoint | None:
    """Checkpoint ``seq``, or the newest when ``seq`` is None."""
    found = Checkpoint.objects.order_by("-seq")
    return found.first() if seq is None else found.filter(seq=seq).first()


# Proofs ---------------------------------------------------------------------------------


def published_value(record: AuditRecord) -> str:
    """The record's document exactly as the sinks publish it (the database's JSON text)."""
    found = (
        AuditRecord.objects.filter(pk=record.pk)
        .annotate(text=Cast("document", TextField()))
        .values_list("text", flat=True)
        .first()
    )
    if found is None:
        raise ProofUnavailable("the record is gone")
    return found


def record_proof(record: AuditRecord, *, checkpoint_seq: int | None = None) -> dict:
    """The record's leaf, its inclusion proof against a checkpoint, and its signature."""
    seq = AuditSeal.objects.filter(record_id=record.pk).values_list("seq", flat=True).first()
    if seq is None:
        raise ProofUnavailable("the record is not sealed yet: ask again in a few seconds")
    cp = checkpoint_by(checkpoint_seq)
    if cp is None:
        raise ProofUnavailable("no such checkpoint" if checkpoint_seq else "no checkpoint yet")
    index = seq - 1
    if index >= cp.records:
        raise ProofUnavailable(
            f"the record (seal #{seq}) is newer than checkpoint #{cp.seq}: ask again shortly"
        )
    found = nodes(merkle.inclusion_blocks(index, cp.records) | {(0, index)})
    value = published_value(record)
    answer = {
        "record_id": str(record.pk),
        "leaf_index": index,
        "tree_size": cp.records,
        "leaf_hash": found[(0, index)].hex(),
        "inclusion": [h.hex() for h in merkle.inclusion_proof(index, cp.records, found.get)],
        "checkpoint": checkpoint_json(cp),
        "value": value,
        "key_id": None,
        "signature": None,
    }
    answer.update(_signature_of(record, value))
    return answer


def _signature_of(record: AuditRecord, value: str) -> dict:
    """The signature the record was published with: the one made when it was written, or
    (older records, signed as they were sent) the same made again: Ed25519 is deterministic."""
    if record.signature and hashlib.sha256(value.encode()).hexdigest() == record.signed_sha256:
        return {"key_id": record.key_id, "signature": record.signature}
    try:
        signer = current_signer()
    except SigningKeyError:
        return {}
    return {"key_id": signer.key_id, "signature": signer.sign(value.encode())}


def consistency(old: Checkpoint, new: Checkpoint) -> dict:
    """RFC 6962 consistency proof: checkpoint ``new``'s tree extends ``old``'s."""
    found = nodes(merkle.consistency_blocks(old.records, new.records))
    proof = merkle.consistency_proof(old.records, new.records, found.get)
    return {
        "from": checkpoint_json(old),
        "to": checkpoint_json(new),
        "proof": [h.hex() for h in proof],
    }


@dataclass
class Inclusion:
    """What the record page says about a record's place in the ledger."""

    signature_ok: bool
    key_id: str | None
    checkpoint: int | None
    message: str


def inclusion_for(record: AuditRecord) -> Inclusion:
    """Check the record as a consumer would: its signature, and its leaf in the newest
    checkpoint (against that checkpoint's signed root)."""
    try:
        proof = record_proof(record)
    except ProofUnavailable as exc:
        return Inclusion(False, None, None, str(exc))
    value = proof["value"].encode()
    keys = public_keys(keys_json())
    problem = signature_problem(keys, proof["key_id"], proof["signature"], value)
    cp = proof["checkpoint"]
    cp_problem = signature_problem(keys, cp["key_id"], cp["signature"], checkpoint_message(cp))
    included = cp_problem is None and merkle.verify_inclusion(
        proof["leaf_index"],
        cp["records"],
        merkle.leaf_hash(value),
        [bytes.fromhex(h) for h in proof["inclusion"]],
        bytes.fromhex(cp["root"]),
    )
    parts = ["signature valid" if problem is None else f"signature INVALID: {problem}"]
    if included:
        parts.append(f"included in checkpoint #{cp['seq']}")
    else:
        parts.append(f"NOT included in checkpoint #{cp['seq']} ({cp_problem or 'altered'})")
    return Inclusion(
        problem is None, proof["key_id"], cp["seq"] if included else None, ", ".join(parts)
    )
