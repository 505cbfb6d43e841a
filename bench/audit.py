"""The audit gate and its delivery: gate cost, records/s to the topic, mirror lag.

(a) ``audit.gate.perform`` with a no-op operation (RBAC decision, redaction, MAC, the record
and its outbox rows in one transaction, the after-commit kick to Redis) beside a raw
single-row INSERT + commit of the same document into a table shaped like the audit table.
(b) Records/s delivered to the audit topic by ``audit.delivery.run("kafka")`` called
in-process (claim, produce, flush, settle), beside a raw kafka-python producer (same
settings: acks=all, idempotent) sending the same documents.
(c) Mirror lag, commit to on-the-topic (as a consumer sees it), at a steady 200 actions/s
issued by 4 client threads, delivered by a real Celery worker subprocess (threads pool, 4).
The bench starts its own Tansu broker and uses a scratch PostgreSQL database and the Redis
of ``REDIS_URL``. Run: ``python -m bench.audit`` (``make bench`` runs it with the others).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.rows import row, run_alone

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "flex-bench-audit"
GATE_OPS = 200  # per round
ROUNDS = 15
DELIVERY_RECORDS = 2000  # per round
DELIVERY_ROUNDS = 3
RATE = 200  # actions/s for the lag figure
LAG_SECONDS = 10
CLIENTS = 4


# (a) the gate ---------------------------------------------------------------------------


def sample_operation(name: str):
    from audit.gate import Operation

    return Operation(
        event="mutation/create-topic",
        action="TOPIC_CREATE",
        resource=["cluster", "bench", "topic", name],
        request={
            "topic-name": name,
            "replication-factor": "1",
            "partitions": "3",
            "config-items": {"retention.ms": "86400000", "cleanup.policy": "delete"},
        },
        execute=lambda: None,
    )


def sample_actor():
    from rbac.roles import Actor

    return Actor(
        flex_id=uuid.uuid4(),
        login="bench",
        name="Bench Mark",
        email="bench@example.com",
        provider="github",
        roles=("platform",),
    )


def sample_ctx():
    from audit.gate import Ctx

    return Ctx(client_ip="127.0.0.1", user_agent="bench", via="api", cluster_id="bench")


def _raw_table() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_audit")
        cursor.execute("CREATE TABLE bench_raw_audit (LIKE audit_auditrecord INCLUDING ALL)")


def _raw_insert(document: dict) -> None:
    """One INSERT + commit (autocommit) of the document and its columns, as psycopg does it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_raw_audit (id, ts, flex_user_id, user_pk, login, type, event,"
            " action, outcome, cluster_id, resource_name, document, mac)"
            " VALUES (%s, now(), %s, NULL, %s, %s, %s, %s, %s, %s, %s, %s, '')",
            [
                uuid.uuid4(),
                uuid.uuid4(),
                "bench",
                "mutation/request",
                "mutation/create-topic",
                "TOPIC_CREATE",
                "succeeded",
                "bench",
                "bench-topic",
                json.dumps(document),
            ],
        )


def measure_gate() -> list[dict]:
    """Rounds of each, in alternating order; the median of the per-round ratios (a shared
    machine drifts: each round compares the two under the same conditions)."""
    from audit import gate

    actor, ctx = sample_actor(), sample_ctx()
    _raw_table()
    document = gate.perform(actor, sample_operation("warm"), ctx).record.document
    for _ in range(200):
        gate.perform(actor, sample_operation("warm"), ctx)
        _raw_insert(document)

    def raw_round() -> float:
        started = time.perf_counter()
        for _ in range(GATE_OPS):
            _raw_insert(document)
        return (time.perf_counter() - started) / GATE_OPS * 1e6

    def gate_round() -> float:
        started = time.perf_counter()
        for i in range(GATE_OPS):
            gate.perform(actor, sample_operation(f"bench-{i}"), ctx)
        return (time.perf_counter() - started) / GATE_OPS * 1e6

    gate_us, raw_us, ratios = [], [], []
    for round_ in range(ROUNDS):
        if round_ % 2:
            raw_us.append(raw_round())
            gate_us.append(gate_round())
        else:
            gate_us.append(gate_round())
            raw_us.append(raw_round())
        ratios.append(gate_us[-1] / raw_us[-1])
    ratio = statistics.median(ratios)
    return [
        row(
            f"(a) gate.perform, no-op operation ({ROUNDS}×{GATE_OPS} each, median)",
            round(statistics.median(gate_us)),
            "µs per action",
            round(statistics.median(raw_us)),
            round(ratio, 2),
            "≤ 2.0× raw INSERT + commit",
            ratio <= 2.0,
        )
    ]


# (b) records/s to the topic --------------------------------------------------------------


def measure_delivery(bootstrap: str) -> list[dict]:
    """Rounds of: records written through the gate (not timed), then drained to the topic
    in-process (timed), then the same documents sent by a raw producer (timed)."""
    from kafka import KafkaAdminClient, KafkaProducer

    from audit import gate
    from audit import scheduling as delivery
    from topics import audit_sink as transports

    actor, ctx = sample_actor(), sample_ctx()
    gate.perform(actor, sample_operation("warm"), ctx)
    delivery.run("kafka", budget=600)  # creates the topic, builds the producer, drains (a)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics({"bench-raw": {"num_partitions": 3, "replication_factor": 1}})
    admin.close()
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    producer.send("bench-raw", b"warm").get(10)
    ours, raw, ratios = [], [], []
    try:
        for round_ in range(DELIVERY_ROUNDS):
            documents = _pending_documents(actor, ctx, round_)
            started = time.perf_counter()
            delivered = delivery.run("kafka", budget=600)
            ours.append(delivered / (time.perf_counter() - started))
            assert delivered == len(documents), "some records were not delivered"
            started = time.perf_counter()
            for record_id, text in documents:
                producer.send("bench-raw", key=record_id.encode(), value=text.encode())
            producer.flush()
            raw.append(len(documents) / (time.perf_counter() - started))
            ratios.append(ours[-1] / raw[-1])
    finally:
        producer.close()
        transports.reset_producer()
    ratio = statistics.median(ratios)
    return [
        row(
            f"(b) records delivered to the topic ({DELIVERY_ROUNDS}×{DELIVERY_RECORDS:,},"
            " in-process drain, median)",
            round(statistics.median(ours)),
            "records/s",
            round(statistics.median(raw)),
            round(ratio, 2),
            "≥ 0.5× raw producer",
            ratio >= 0.5,
        )
    ]


def _pending_documents(actor, ctx, round_: int) -> list[tuple[str, str]]:
    from django.db.models import TextField
    from django.db.models.functions import Cast

    from audit import gate
    from audit.models import AuditRecord, Delivery

    for i in range(DELIVERY_RECORDS):
        gate.perform(actor, sample_operation(f"deliver-{round_}-{i}"), ctx)
    pending = Delivery.objects.filter(sink="kafka", status="pending").values("record_id")
    rows = (
        AuditRecord.objects.filter(id__in=pending)
        .annotate(text=Cast("document", TextField()))
        .values_list("id", "text")
    )
    return [(str(record_id), text) for record_id, text in rows]


# (c) mirror lag ---------------------------------------------------------------------------


def _worker(bootstrap: str, log: Path) -> subprocess.Popen:
    from django.conf import settings
    from django.db import connection

    db = settings.DATABASES["default"]
    user = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    url = f"postgres://{user}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FLEX_TEST_DB_NAME": "",
        "REDIS_URL": settings.REDIS_URL,
        "FLEX_CELERY_QUEUE": QUEUE,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
    }
    for key in ("SLACK_WEBHOOK_URL", "WEBHOOK_URL"):
        env.pop(key, None)
    out = open(log, "wb")  # noqa: SIM115  (owned by the child)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "flex", "worker", "--pool=threads"]
        + ["--concurrency=4", "--without-heartbeat", "--without-gossip", "--without-mingle"]
        + ["-Q", QUEUE, "-l", "warning"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while b"ready" not in log.read_bytes() and time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited; see {log}")
        time.sleep(0.2)
    return process


class _Watcher(threading.Thread):
    """Notes when each record id first appears on the audit topic."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        from kafka import KafkaConsumer

        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="latest",
            enable_auto_commit=False,
            group_id=None,
            fetch_max_wait_ms=10,
        )
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        while not self.consumer.assignment():
            self.consumer.poll(timeout_ms=100)

    def run(self) -> None:
        while not self.stop.is_set():
            for batch in self.consumer.poll(timeout_ms=50).values():
                now = time.time()
                for message in batch:
                    self.seen.setdefault(message.key.decode(), now)
        self.consumer.close()


def measure_lag(bootstrap: str, log: Path) -> list[dict]:
    """Actions paced at RATE/s by CLIENTS threads (as a web server's threads would issue
    them); lag = first seen on the topic by a consumer minus the gate's return (commit)."""
    from django.conf import settings

    from audit import chain

    while chain.seal_batch():  # records of (a) and (b): the worker starts on a clean slate
        pass
    worker = _worker(bootstrap, log)
    try:
        from audit import gate

        gate.perform(sample_actor(), sample_operation("warm"), sample_ctx())
        time.sleep(2)
        watcher = _Watcher(bootstrap, settings.FLEX_AUDIT_TOPIC)
        watcher.start()
        committed: dict[str, float] = {}
        total = RATE * LAG_SECONDS
        start = time.monotonic() + 0.1
        threads = [
            threading.Thread(target=_client, args=(n, total, start, committed))
            for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        achieved = total / (time.monotonic() - start)
        deadline = time.monotonic() + 15
        while len(set(committed) & set(watcher.seen)) < total and time.monotonic() < deadline:
            time.sleep(0.1)
        watcher.stop.set()
        lags = sorted(watcher.seen[k] - t for k, t in committed.items() if k in watcher.seen)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    missing = total - len(lags)
    p50 = statistics.median(lags)
    p95 = lags[int(len(lags) * 0.95) - 1]
    note = f"{total:,} actions at {achieved:.0f}/s from {CLIENTS} threads, Celery worker"
    return [
        row(f"(c) mirror lag p50 ({note})", round(p50 * 1000), "ms", None, None, None, None),
        row(
            f"(c) mirror lag p95 ({note}; {missing} missing)",
            round(p95 * 1000),
            "ms",
            None,
            None,
            "< 1000 ms",
            p95 < 1.0 and missing == 0,
        ),
        row("(c) mirror lag max", round(lags[-1] * 1000), "ms", None, None, None, None),
    ]


def _client(n: int, total: int, start: float, committed: dict[str, float]) -> None:
    """Every CLIENTS-th action, each at its slot of the RATE/s schedule."""
    from django.db import connection

    from audit import gate

    actor, ctx = sample_actor(), sample_ctx()
    try:
        for i in range(n, total, CLIENTS):
            delay = start + i / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            record = gate.perform(actor, sample_operation(f"lag-{i}"), ctx).record
            committed[str(record.pk)] = time.time()
    finally:
        connection.close()


# Setup -----------------------------------------------------------------------------------


@contextmanager
def scratch_stack(db_name: str, prefix: str) -> Iterator[Path]:
    """A scratch test database (``FLEX_BENCH_DB``, else ``db_name``) holding a policy that
    allows creating topics, and a Tansu broker of its own as the primary cluster; yields a
    work folder. Everything is put back afterwards."""
    import tempfile

    from django.conf import settings
    from django.db import connection

    from flex import tansu
    from rbac import engine
    from rbac.models import Policy
    from topics import audit_sink

    database = settings.DATABASES["default"]
    saved_test = dict(database.get("TEST", {}))
    database["TEST"] = {**saved_test, "NAME": os.environ.get("FLEX_BENCH_DB", db_name)}
    saved_bootstrap = settings.KAFKA_BOOTSTRAP_SERVERS
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    port = tansu.free_port()
    broker = tansu.start(port, cluster_id="bench", log=workdir / "tansu.log")
    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{port}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        Policy.objects.create(
            resource=["cluster", "*"], effect="Allow", actions=["TOPIC_CREATE"], roles=["*"]
        )
        engine.invalidate()
        yield workdir
    finally:
        audit_sink.reset_producer()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        database["TEST"] = saved_test
        settings.KAFKA_BOOTSTRAP_SERVERS = saved_bootstrap
        tansu.stop(broker)


def main() -> list[dict]:
    from django.conf import settings
    from django.db import connection

    from flex.celery import app

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        raise RuntimeError("bench.audit needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
    saved_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    settings.CELERY_TASK_DEFAULT_QUEUE = app.conf.task_default_queue = QUEUE
    try:
        with scratch_stack("bench_flex_audit", "bench-audit-") as workdir:
            rows = measure_gate()
            rows += measure_delivery(settings.KAFKA_BOOTSTRAP_SERVERS)
            rows += measure_lag(settings.KAFKA_BOOTSTRAP_SERVERS, workdir / "celery.log")
            return rows
    finally:
        settings.CELERY_TASK_DEFAULT_QUEUE = app.conf.task_default_queue = saved_queue


if __name__ == "__main__":
    run_alone(main, 75)
