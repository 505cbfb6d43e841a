"""Masking 500 JSON messages of 2 KB with 20 data policies, beside the same read unmasked.

A Tansu broker on a free port and a scratch database (PostgreSQL under ``make bench``):
500 messages of about 2 KB of JSON are produced to one topic, then read the way the
messages page and the API read them — ``kafka.read_messages`` through
``topics.masking.masked_read`` to ``reads.messages_json`` — first with no data policies,
then with 20 (17 non-scalar naming 3 fields each, some found at depth; 3 scalar on keys
and headers). Medians of repeated reads, interleaved; the figure that counts is what the
policies add to a read, measured on the same fetched messages (no broker noise).
Run: ``python -m bench.masking`` (or ``python -m bench.report bench.masking``).
"""

from __future__ import annotations

import json
import random
import statistics
import time

from bench.rows import compared, run_alone

MESSAGES = 500
POLICIES = 20
REPEATS = 15
TARGET_MS = 50


def _message(rng: random.Random, index: int) -> bytes:
    lines = [
        {"sku": f"sku-{rng.randrange(10**6)}", "qty": rng.randrange(9), "pan": "4111111111111111",
         "meta": {"note": "x" * 40, "email": f"user{index}@corp.org"}}
        for _ in range(10)
    ]  # fmt: skip
    value = {"id": index, "customer": {"name": "John Smith", "ssn": "123-45-6789"}, "lines": lines}
    value["padding"] = "p" * max(0, 2048 - len(json.dumps(value)))
    return json.dumps(value).encode()


def _policies() -> list:
    from datapolicy.models import DataPolicy

    rows = []
    for i in range(POLICIES - 3):
        fields = [f"field_{i}_a", f"field_{i}_b", ("pan", "email", "ssn", "name")[i % 4]]
        rows.append(
            DataPolicy(name=f"p{i}", resources=[["cluster", "*", "topic", "*", "value"]],
                       redaction="ShowLast4", policy_type="non-scalar", fields=fields, position=i)
        )  # fmt: skip
    for i, part in enumerate(("key", "headers", "key")):
        rows.append(
            DataPolicy(name=f"s{i}", resources=[["cluster", "*", "topic", "*", part]],
                       redaction="SHAHash", policy_type="scalar", position=100 + i)
        )  # fmt: skip
    return rows


def _pipeline(fetched, cluster_id: str, topic: str) -> float:
    from topics import reads
    from topics.masking import masked_read

    start = time.perf_counter()
    reads.messages_json(masked_read(fetched, cluster_id=cluster_id, topic=topic, roles=["m"]))
    return (time.perf_counter() - start) * 1000


def _read(cluster, topic: str) -> tuple[float, object]:
    from topics import kafka

    start = time.perf_counter()
    fetched = kafka.read_messages(cluster, topic, kafka.ReadQuery(mode="latest", limit=MESSAGES))
    return (time.perf_counter() - start) * 1000, fetched


def measure(cluster, topic: str) -> dict:
    from datapolicy.models import DataPolicy

    read_ms, fetched = _read(cluster, topic)
    assert len(fetched.messages) == MESSAGES, len(fetched.messages)
    plain, masked, full_plain, full_masked = [], [], [], []
    policies = _policies()
    for _ in range(REPEATS):
        DataPolicy.objects.all().delete()
        plain.append(_pipeline(fetched, cluster.key, topic))
        ms, again = _read(cluster, topic)
        full_plain.append(ms + _pipeline(again, cluster.key, topic))
        DataPolicy.objects.bulk_create(policies)
        masked.append(_pipeline(fetched, cluster.key, topic))
        ms, again = _read(cluster, topic)
        full_masked.append(ms + _pipeline(again, cluster.key, topic))
    return {
        "plain": statistics.median(plain),
        "masked": statistics.median(masked),
        "read_plain": statistics.median(full_plain),
        "read_masked": statistics.median(full_masked),
    }


def rows(result: dict) -> list[dict]:
    added = result["masked"] - result["plain"]
    what = f"{MESSAGES} JSON messages of 2 KB"
    return [
        compared(f"read {what}, no data policies (fetch + render)", result["read_plain"], "ms"),
        compared(
            f"read {what}, {POLICIES} data policies (fetch + mask + render)",
            result["read_masked"],
            "ms",
            round(result["read_plain"], 1),
        ),  # fmt: skip
        compared(f"render {what}, no data policies", result["plain"], "ms"),
        compared(
            f"mask + render {what}, {POLICIES} data policies",
            result["masked"],
            "ms",
            round(result["plain"], 1),
        ),  # fmt: skip
        compared(
            f"added by masking {what} with {POLICIES} policies",
            added,
            "ms",
            None,
            f"≤ {TARGET_MS} ms",
            added <= TARGET_MS,
        ),  # fmt: skip
    ]


def main() -> list[dict]:
    from bench.scratch import broker_cluster, scratch_database
    from topics import kafka

    with scratch_database("bench_flex_mask"), broker_cluster() as cluster:
        topic = "bench-masking"
        kafka.create_topic(cluster, name=topic, partitions=1, replication_factor=1, configs={})
        rng = random.Random(15)
        for i in range(MESSAGES):
            kafka.produce(cluster, topic, key=f"k-{i}".encode(), value=_message(rng, i),
                          headers=[("trace", b"t-1")])  # fmt: skip
        return rows(measure(cluster, topic))


if __name__ == "__main__":
    run_alone(main)
