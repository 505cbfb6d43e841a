"""The verifiable ledger: what signing costs the topic, and proofs at 2,000,000 records.

(a) Records/s delivered to the audit topic by the in-process drain (claim, produce, flush,
settle) with every message signed (the ``flex-signature`` and ``flex-key-id`` headers: the
signature made as the gate wrote the record, checked against the digest of the text sent),
beside the same drain with signing off (``KafkaTransport.signed = False``), in alternating
rounds of the same size in the same run: the median of the per-round ratios; rounds
sending both headers with fixed bytes tell the headers' cost from the signatures'. And what
signing costs the gate instead: ``signing.sign_draft`` (the published text, Ed25519,
SHA-256) per record, beside ``gate.perform`` of the same no-op action.
(b) At 2M sealed records (records made in SQL with generate_series as ``bench.views`` does;
seals and the Merkle tree's nodes in SQL, the leaves hashed by PostgreSQL from the very text
Flex publishes), two signed checkpoints, then through Django's test Client as an auditor:
``GET /api/audit/<id>/proof`` for records spread over the tree, and
``GET /api/audit/checkpoints/consistency``, p95 over 200 requests each, beside a raw
primary-key SELECT of one record's document. Every proof is checked against the signed root.
(c) Growing the tree: appending 10,000 leaves to the 2M tree (the checkpoint task's step).
Run: ``python -m bench.ledger`` (``make bench`` runs it with the others);
``FLEX_BENCH_LEDGER_SIZE=200000`` for a quick trial.
"""

from __future__ import annotations

import os
import random
import statistics
import time

from bench.audit import sample_actor, sample_ctx, sample_operation, scratch_stack
from bench.rows import row, run_alone
from bench.views import GENERATE, KNOWN_COLUMNS

SIZE = int(os.environ.get("FLEX_BENCH_LEDGER_SIZE", "2000000"))
ROUND_RECORDS = 2000
ROUNDS = 6
REQUESTS = 200
GROW = 10_000

SEALS = """
INSERT INTO audit_auditseal (seq, record_id, record_ts, record_mac, prev_hash, hash, key_id,
  sealed_at)
SELECT row_number() OVER (ORDER BY ts, id), id, ts, md5(id::text) || md5(ts::text), '',
  md5(ts::text) || md5(id::text), 'bench', now()
FROM audit_auditrecord
"""
LEAVES = """
INSERT INTO audit_merklenode (level, position, hash)
SELECT 0, s.seq - 1, sha256('\\x00'::bytea || convert_to(r.document::text, 'UTF8'))
FROM audit_auditseal s JOIN audit_auditrecord r ON r.id = s.record_id
"""
LEVEL = """
INSERT INTO audit_merklenode (level, position, hash)
SELECT %s + 1, a.position / 2, sha256('\\x01'::bytea || a.hash || b.hash)
FROM audit_merklenode a JOIN audit_merklenode b ON b.level = a.level AND b.position = a.position + 1
WHERE a.level = %s AND a.position %% 2 = 0
"""


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


# (a) signing on the way to the topic ---------------------------------------------------------


def _constant_headers(self, items):
    """The baseline's messages: the same two headers with fixed bytes, nothing signed."""
    headers = [("flex-signature", b"A" * 88), ("flex-key-id", b"0" * 16)]
    return ({"value": item.text.encode(), "headers": headers} for item in items)


def measure_signing() -> list[dict]:
    from audit import gate
    from audit import scheduling as delivery
    from topics.audit_sink import KafkaTransport

    actor, ctx = sample_actor(), sample_ctx()
    gate.perform(actor, sample_operation("warm"), ctx)
    delivery.run("kafka", budget=600)  # creates the topic, builds the producer
    signed_messages = KafkaTransport._messages

    def drained(mode: str, round_: int) -> float:
        for i in range(ROUND_RECORDS):
            gate.perform(actor, sample_operation(f"sign-{round_}-{mode}-{i}"), ctx)
        KafkaTransport.signed = mode == "signed"
        KafkaTransport._messages = _constant_headers if mode == "headers" else signed_messages
        started = time.perf_counter()
        done = delivery.run("kafka", budget=600)
        assert done == ROUND_RECORDS, f"{done} of {ROUND_RECORDS} delivered"
        return done / (time.perf_counter() - started)

    rates: dict[str, list[float]] = {"signed": [], "unsigned": [], "headers": []}
    ratios, header_ratios = [], []
    try:
        for round_ in range(ROUNDS):
            modes = list(rates)[:: 1 if round_ % 2 else -1]
            got = {mode: drained(mode, round_) for mode in modes}
            for mode, rate in got.items():
                rates[mode].append(rate)
            ratios.append(got["signed"] / got["unsigned"])
            header_ratios.append(got["headers"] / got["unsigned"])
    finally:
        KafkaTransport.signed, KafkaTransport._messages = True, signed_messages
    ratio = statistics.median(ratios)
    unsigned = round(statistics.median(rates["unsigned"]))
    sign_us, gate_us = _gate_cost(actor, ctx)
    return [
        row(
            f"(a) records/s to the topic, signed ({ROUNDS}×{ROUND_RECORDS:,}, median)",
            round(statistics.median(rates["signed"])),
            "records/s",
            unsigned,
            round(ratio, 3),
            "≥ 0.9× unsigned (signing adds ≤ 10%)",
            ratio >= 0.9,
        ),
        row(
            "(a) of which the two headers alone (fixed bytes, no signing)",
            round(statistics.median(rates["headers"])),
            "records/s",
            unsigned,
            round(statistics.median(header_ratios), 3),
        ),
        row(
            "(a) signing a record as the gate writes it (sign_draft)",
            round(sign_us, 1),
            "µs per record",
            round(gate_us),
            round(sign_us / gate_us, 3),
            "≤ 0.05× gate.perform",
            sign_us <= 0.05 * gate_us,
        ),
    ]


def _gate_cost(actor, ctx, n: int = 500) -> tuple[float, float]:
    """µs per record of ``sign_draft`` alone, and of the whole ``gate.perform``."""
    from audit import gate, signing

    records = [gate.perform(actor, sample_operation(f"gate-{i}"), ctx).record for i in range(n)]
    started = time.perf_counter()
    for record in records:
        signing.sign_draft(record)
    sign_us = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for i in range(n):
        gate.perform(actor, sample_operation(f"gate-again-{i}"), ctx)
    return sign_us, (time.perf_counter() - started) / n * 1e6


# (b) proofs at 2M records ---------------------------------------------------------------------


def generate(size: int) -> float:
    from django.db import connection

    from audit.models import AuditRecord

    extra = [f.column for f in AuditRecord._meta.concrete_fields if f.column not in KNOWN_COLUMNS]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            GENERATE.format(
                n=size,
                extra_columns="".join(f"{c}, " for c in extra),
                extra_values="".join("'', " for _ in extra),
            )
        )
        cursor.execute(SEALS)
        cursor.execute(LEAVES)
        level = 0
        while True:
            cursor.execute(LEVEL, [level, level])
            if not cursor.rowcount:
                break
            level += 1
        for table in ("audit_auditrecord", "audit_auditseal", "audit_merklenode"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def _auditor_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    from rbac.models import AccessSettings, Profile

    access = AccessSettings.load()
    access.authorized_roles, access.auditor_roles = ["member"], ["auditors"]
    access.save()
    user = get_user_model().objects.create(username="bench-ledger-auditor")
    Profile.objects.create(
        user=user,
        provider="github",
        login="bench-ledger-auditor",
        provider_roles=["member", "auditors"],
    )
    client = Client()
    client.force_login(user)
    return client


def _timed(client, paths: list[str]) -> tuple[list[float], list[dict]]:
    samples, answers = [], []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        answers.append(response.json())
    return samples, answers


def _raw(ids: list) -> list[float]:
    from django.db import connection

    samples = []
    with connection.cursor() as cursor:
        for rid in ids:
            started = time.perf_counter()
            cursor.execute("SELECT document::text FROM audit_auditrecord WHERE id = %s", [rid])
            cursor.fetchone()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def _check(proofs: list[dict]) -> None:
    from audit import merkle

    for proof in proofs:
        cp = proof["checkpoint"]
        assert merkle.verify_inclusion(
            proof["leaf_index"],
            cp["records"],
            merkle.leaf_hash(proof["value"].encode()),
            [bytes.fromhex(h) for h in proof["inclusion"]],
            bytes.fromhex(cp["root"]),
        ), f"the proof of {proof['record_id']} does not verify"


def measure_proofs() -> list[dict]:
    from audit import ledger, merkle
    from audit.models import AuditSeal

    seconds = generate(SIZE)
    older = ledger.sign_checkpoint(SIZE * 3 // 4 + 1)  # signed on the key part (a) used
    newest = ledger.sign_checkpoint(SIZE)
    client = _auditor_client()
    rng = random.Random(17)
    seqs = [rng.randint(1, SIZE) for _ in range(REQUESTS)]
    ids = dict(AuditSeal.objects.filter(seq__in=seqs).values_list("seq", "record_id"))
    paths = [f"/api/audit/{ids[s]}/proof" for s in seqs]
    _timed(client, paths[:10])  # warm
    proof_ms, proofs = _timed(client, paths)
    _check(proofs)
    consistency = f"/api/audit/checkpoints/consistency?from={older.seq}&to={newest.seq}"
    cons_ms, answers = _timed(client, [consistency] * REQUESTS)
    assert merkle.verify_consistency(
        older.records,
        newest.records,
        bytes.fromhex(older.root),
        bytes.fromhex(newest.root),
        [bytes.fromhex(h) for h in answers[0]["proof"]],
    )
    raw = _p95(_raw([ids[s] for s in seqs]))
    label = f"{SIZE / 1e6:g}M" if SIZE >= 1_000_000 else f"{SIZE // 1000}k"
    return [
        row(f"(b) {label} records, tree and seals made in SQL", round(seconds, 1), "s"),
        row(
            f"(b) {label}: GET /api/audit/<id>/proof p95 ({REQUESTS} records, auditor)",
            round(_p95(proof_ms), 2),
            "ms",
            round(raw, 3),
            round(_p95(proof_ms) / raw, 1),
            "≤ 100 ms",
            _p95(proof_ms) <= 100,
        ),
        row(f"(b) {label}: proof p50", round(statistics.median(proof_ms), 2), "ms"),
        row(
            f"(b) {label}: GET /api/audit/checkpoints/consistency p95 "
            f"({older.records:,} → {newest.records:,})",
            round(_p95(cons_ms), 2),
            "ms",
            round(raw, 3),
            round(_p95(cons_ms) / raw, 1),
            "≤ 100 ms",
            _p95(cons_ms) <= 100,
        ),
    ]


def measure_growth() -> list[dict]:
    """Append GROW leaves to the big tree, as the checkpoint task does after sealing."""
    from django.db import connection, transaction

    from audit import ledger
    from audit.models import AuditRecord

    columns = [f.column for f in AuditRecord._meta.concrete_fields]
    copied = ["gen_random_uuid()" if c == "id" else "now()" if c == "ts" else c for c in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO audit_auditrecord ({', '.join(columns)})"  # noqa: S608
            f" SELECT {', '.join(copied)} FROM audit_auditrecord LIMIT %s",
            [GROW],
        )
        cursor.execute(
            "INSERT INTO audit_auditseal (seq, record_id, record_ts, record_mac, prev_hash,"
            " hash, key_id, sealed_at)"
            " SELECT %s + row_number() OVER (ORDER BY ts, id), id, ts, '', '', '', 'bench', now()"
            " FROM audit_auditrecord r WHERE NOT EXISTS"
            " (SELECT 1 FROM audit_auditseal s WHERE s.record_id = r.id)",
            [ledger.tree_size()],
        )
    start_size = ledger.tree_size()
    started = time.perf_counter()
    with transaction.atomic():
        size = ledger.extend(GROW)
    seconds = time.perf_counter() - started
    return [
        row(
            f"(c) the checkpoint task appends {size - start_size:,} leaves to the tree",
            round(seconds * 1000),
            "ms",
        )
    ]


def _signing_key():
    from audit import signing

    path = signing.key_path()
    if not path.exists():
        signing.generate_key_file(path)
    return path


def main() -> list[dict]:
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        raise RuntimeError("bench.ledger needs PostgreSQL (DATABASE_URL)")
    saved = (settings.ALLOWED_HOSTS, settings.DEBUG, settings.FLEX_AUDIT_SIGNING_KEY_FILE)
    # As deployed: DEBUG off (no query log), the signing key named (DEBUG made it in var/).
    settings.FLEX_AUDIT_SIGNING_KEY_FILE = str(_signing_key())
    settings.ALLOWED_HOSTS, settings.DEBUG = [*settings.ALLOWED_HOSTS, "testserver"], False
    try:
        with scratch_stack("bench_flex_ledger", "bench-ledger-"):
            return measure_signing() + measure_proofs() + measure_growth()
    finally:
        settings.ALLOWED_HOSTS, settings.DEBUG, settings.FLEX_AUDIT_SIGNING_KEY_FILE = saved


if __name__ == "__main__":
    run_alone(main)
