"""The message browser: a page of 500 newest first and a filtered scan of 5,000, beside raw reads.

A Tansu broker on a free port and a scratch database (PostgreSQL under ``make bench``):
5,000 JSON messages of about 300 bytes over 3 partitions. Raw baseline: ``kafka.read_messages``
(one consumer, no merge, no masking, no filter) of the same messages. Measured:
``topics.browse.browse_page`` as the read operation runs it — a page of the 500 newest
(merge by time over the partitions, cursors), and a scan of all 5,000 with a JMESPath
field filter that matches one (``FLEX_READ_SCAN_MAX`` = 5,000). No data policies (their
cost is ``bench.masking``'s). Medians of repeated runs, interleaved.
Run: ``python -m bench.browse`` (or ``python -m bench.report bench.browse``).
"""

from __future__ import annotations

import json
import statistics
import time

from bench.rows import compared, run_alone

MESSAGES = 5_000
PAGE = 500
PARTITIONS = 3
REPEATS = 5
TARGET_SCAN_MS = 3_000  # a budget scan stays within FLEX_KAFKA_TIMEOUT_MS's default


def _timed(work) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return (time.perf_counter() - start) * 1000, result


def measure(cluster, topic: str) -> dict:
    from django.conf import settings

    from topics import kafka
    from topics.browse import BrowseQuery, browse_page, compile_expression
    from topics.read_checks import check_read

    settings.FLEX_READ_SCAN_MAX = MESSAGES
    settings.KAFKA_TIMEOUT_MS = 30_000  # measure the work, not the bound
    expr = "value.customer.id == '4242'"
    filtered = check_read({"mode": "latest", "limit": "10", "expr": expr}).value
    page = BrowseQuery(mode="latest", limit=PAGE)
    compile_expression(expr)
    raw_page, raw_all, browsed, scanned = [], [], [], []
    everything = kafka.ReadQuery(limit=MESSAGES)
    for _ in range(REPEATS):
        ms, got = _timed(lambda: kafka.read_messages(cluster, topic, kafka.ReadQuery(limit=PAGE)))
        raw_page.append(ms)
        ms, got = _timed(
            lambda: browse_page(cluster, topic, page, cluster_id=cluster.key, roles=[])
        )
        assert got.matched == PAGE, got.matched
        browsed.append(ms)
        ms, got = _timed(lambda: kafka.read_messages(cluster, topic, everything))
        assert len(got.messages) == MESSAGES, len(got.messages)
        raw_all.append(ms)
        ms, got = _timed(
            lambda: browse_page(cluster, topic, filtered, cluster_id=cluster.key, roles=[])
        )
        assert (got.scanned, got.matched) == (MESSAGES, 1), (got.scanned, got.matched)
        scanned.append(ms)
    runs = {"raw_page": raw_page, "page": browsed, "raw_all": raw_all, "scan": scanned}
    return {name: statistics.median(values) for name, values in runs.items()}


def rows(result: dict) -> list[dict]:
    per_message_us = result["scan"] / MESSAGES * 1000
    raw_us = result["raw_all"] / MESSAGES * 1000
    return [
        compared(f"a page of the {PAGE} newest, {PARTITIONS} partitions merged by time",
             result["page"], "ms", round(result["raw_page"], 1)),
        compared(f"scan {MESSAGES:,} with a JMESPath field filter (one matches)",
             result["scan"], "ms", round(result["raw_all"], 1), f"≤ {TARGET_SCAN_MS:,} ms",
             result["scan"] <= TARGET_SCAN_MS),
        compared("per message scanned (fetch + filter)", per_message_us, "µs", round(raw_us, 1)),
    ]  # fmt: skip


def _with_broker() -> list[dict]:
    from django.conf import settings

    from bench.scratch import broker_cluster
    from topics import kafka

    saved = settings.KAFKA_TIMEOUT_MS, settings.FLEX_READ_SCAN_MAX
    try:
        with broker_cluster() as cluster:
            topic = "bench-browse"
            kafka.create_topic(
                cluster, name=topic, partitions=PARTITIONS, replication_factor=1, configs={}
            )
            for i in range(MESSAGES):
                value = {
                    "customer": {"id": str(i), "name": "John Smith"},
                    "n": i,
                    "note": "x" * 200,
                }
                data = json.dumps(value).encode()
                kafka.produce(cluster, topic, key=f"k-{i}".encode(), value=data, headers=[],
                              partition=i % PARTITIONS)  # fmt: skip
            return rows(measure(cluster, topic))
    finally:
        settings.KAFKA_TIMEOUT_MS, settings.FLEX_READ_SCAN_MAX = saved


def main() -> list[dict]:
    from bench.scratch import scratch_database

    with scratch_database("bench_flex_browse"):
        return _with_broker()


if __name__ == "__main__":
    run_alone(main)
