"""Fault injection with real processes: a stack of the test's own that the test breaks and mends.

Each test gets its own Tansu broker, its own ``redis-server`` (on a free port: the shared
Redis on 6379 is never restarted), a Celery worker and a beat process as production runs
them, and, where a test asks, the portal itself under gunicorn. The test process points
its settings (and its Celery app) at the same broker and Redis, so the gate it calls
kicks delivery exactly as the portal does.

Every scenario ends with the same checks (``finish``): no action took longer than
``REQUEST_LIMIT``, each action left exactly one audit record, every record reached the
audit topic, duplicates on the topic only repeat real record ids, and ``audit_verify``
passes. Each scenario prints its figures (``FAULTS name: …``, seen with ``pytest -s``) and
appends them as JSON lines to ``$FLEX_FAULTS_REPORT`` when that is set.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit import scheduling
from audit.gate import Ctx
from audit.models import AuditRecord, Delivery, PendingSeal
from flex import tansu
from rbac import engine
from rbac.models import Policy
from tests.conftest import ROOT, Broker, wait_until
from tests.stubs.slack import SlackStub
from topics import audit_sink, operations, validation
from topics import kafka as kafka_client
from topics.models import primary_cluster

REQUEST_LIMIT = 10.0  # seconds: no user request may take longer, whatever is down
WORKER_APP = "flex-faults-worker"  # PostgreSQL application_name of each process's connections
WEB_APP = "flex-faults-web"
LEASE_SECONDS = 15


# Processes -----------------------------------------------------------------------------


class Service:
    """A child process in a session of its own (so SIGKILL takes all of it), logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def spawn(self, ready: Callable[[bytes], bool]) -> None:
        """Start the process; ``wait`` until ``ready`` says its log (since now) shows it up."""
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        self._ready = ready
        out = open(self.log, "ab")  # noqa: SIM115  (owned by the child)
        self.process = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        out.close()

    def wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log}")
            if self._ready(self.log.read_bytes()[self._offset :]):
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"{self.name} did not start within {timeout} s; see {self.log}")

    def start(self, ready: Callable[[bytes], bool], timeout: float = 30.0) -> None:
        self.spawn(ready)
        self.wait(timeout)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group: a crash, nothing cleaned up."""
        if self.running:
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.running:
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        self.kill()

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


class RedisServer(Service):
    """A ``redis-server`` of the test's own, memory only: a restart comes back empty."""

    def __init__(self, workdir: Path) -> None:
        self.port = tansu.free_port()
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(workdir)]
        super().__init__("redis-server", args, dict(os.environ), workdir / "redis.log")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10.0) -> None:  # type: ignore[override]
        super().start(lambda out: b"Ready to accept connections" in out, timeout)


def _worker_ready(out: bytes) -> bool:
    return b"ready." in out


def _beat_ready(out: bytes) -> bool:
    return b"beat: Starting" in out


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# The stack -----------------------------------------------------------------------------


def crash(broker: Broker) -> None:
    """Stop the broker with SIGKILL (Tansu takes seconds to stop while clients are connected)."""
    if broker.process is not None:
        broker.process.kill()
        broker.process.wait()
        broker.process = None


def _database_url(application_name: str) -> str:
    db = settings.DATABASES["default"]
    name = connection.settings_dict["NAME"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{name}?application_name={application_name}"


def point_celery_at(url: str) -> None:
    """Make this process's Celery app publish to ``url`` (it read its broker URL at start).

    kombu keeps its connection and producer pools in process-wide registries keyed by URL:
    they are closed and forgotten, so the next publish builds pools for ``url``.
    """
    from kombu import pools

    from flex.celery import app

    app.conf.broker_url = url
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    pools.reset()


@dataclass
class Stack:
    """The test's own broker, Redis, worker, beat and (on demand) portal process."""

    broker: Broker
    redis: RedisServer
    tmp: Path
    env: dict[str, str]
    worker: Service | None = None
    beat: Service | None = None
    web: Service | None = None
    web_port: int = 0

    def child_env(self, application_name: str) -> dict[str, str]:
        return {**self.env, "DATABASE_URL": _database_url(application_name)}

    def configure(self, **env: str) -> None:
        """Environment for every process started from now on (e.g. SLACK_WEBHOOK_URL)."""
        self.env.update(env)

    def worker_service(self) -> Service:
        if self.worker is None:
            args = [sys.executable, "-m", "celery", "-A", "flex", "worker", "--pool=threads"]
            args += ["--concurrency=2", "--without-heartbeat", "--without-gossip"]
            args += ["--without-mingle", "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "-l", "info"]
            self.worker = Service(
                "celery worker", args, self.child_env(WORKER_APP), self.tmp / "worker.log"
            )
        return self.worker

    def beat_service(self) -> Service:
        if self.beat is None:
            args = [sys.executable, "-m", "celery", "-A", "tests.faults.beat", "beat", "-l", "info"]
            args += ["-s", str(self.tmp / "celerybeat-schedule")]
            self.beat = Service(
                "celery beat", args, self.child_env("flex-faults-beat"), self.tmp / "beat.log"
            )
        return self.beat

    def start(self) -> None:
        """Start the worker and beat side by side, as production runs them."""
        worker, beat = self.worker_service(), self.beat_service()
        worker.spawn(_worker_ready)
        beat.spawn(_beat_ready)
        worker.wait()
        beat.wait()

    def restart_worker(self) -> None:
        self.worker.start(_worker_ready)

    def start_web(self) -> str:
        """The portal under gunicorn (as deployed), on the test database; its base URL."""
        if self.web is None:
            self.web_port = tansu.free_port()
            args = [sys.executable, "-m", "gunicorn", "flex.wsgi:application"]
            args += ["-b", f"127.0.0.1:{self.web_port}", "-w", "1", "--threads", "4"]
            args += ["--timeout", "60", "--graceful-timeout", "2"]
            self.web = Service("gunicorn", args, self.child_env(WEB_APP), self.tmp / "web.log")
        self.web.start(lambda out: port_open(self.web_port))
        return f"http://127.0.0.1:{self.web_port}"

    def services(self) -> list[Service]:
        return [s for s in (self.web, self.beat, self.worker, self.redis) if s is not None]

    def logs(self) -> str:
        return "\n".join(f"--- {s.name} ---\n{s.tail()}" for s in self.services())


@pytest.fixture
def stack(transactional_db, settings, tmp_path: Path) -> Iterator[Stack]:
    """A broker and Redis of this test's own, this process pointed at them. Worker and beat
    (``stack.start()``) and the portal (``stack.start_web()``) start when the test says."""
    from flex.celery import app

    previous_broker_url = app.conf.broker_url  # read before the settings below change
    broker = Broker(tmp_path / "tansu.log")
    broker.start()
    redis = RedisServer(tmp_path)
    redis.start()
    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    settings.REDIS_URL = settings.CELERY_BROKER_URL = redis.url()
    settings.SLACK_WEBHOOK_URL = None
    settings.WEBHOOK_URL = None
    settings.FLEX_AUDIT_LEASE_SECONDS = LEASE_SECONDS
    point_celery_at(redis.url())
    scheduling._celery.quiet_until = 0.0
    audit_sink.reset_producer()
    kafka_client.reset_clients()
    env = {
        **os.environ,
        "FLEX_TEST_DB_NAME": "",
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "REDIS_URL": redis.url(),
        "FLEX_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        # Rows a killed worker had claimed come back after this (production: 120 s).
        "FLEX_AUDIT_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    for key in ("SLACK_WEBHOOK_URL", "WEBHOOK_URL", "SLACK_WEBHOOK_VERBOSITY"):
        env.pop(key, None)
    s = Stack(broker, redis, tmp_path, env)
    engine.invalidate()
    try:
        yield s
    finally:
        point_celery_at(previous_broker_url)  # first: closing its pool needs Redis up
        for service in s.services():
            service.kill()  # nothing to keep: a crash is as good as a clean stop here
        crash(broker)
        scheduling._celery.quiet_until = 0.0
        audit_sink.reset_producer()
        kafka_client.reset_clients()
        engine.invalidate()


# Acting --------------------------------------------------------------------------------


@dataclass
class Action:
    tag: str  # the topic the action names: how its record is found
    kind: str
    status: str
    seconds: float
    record_id: str | None


@dataclass
class Ledger:
    """Every action a scenario issued, timed, and the checks every scenario ends with."""

    name: str
    actions: list[Action] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)

    def add(self, action: Action) -> Action:
        self.actions.append(action)
        return action

    @property
    def max_seconds(self) -> float:
        return max((a.seconds for a in self.actions), default=0.0)

    def tag(self, kind: str) -> str:
        return f"ft-{self.name}-{kind}-{len(self.actions)}-{uuid.uuid4().hex[:6]}"

    def check_requests(self) -> None:
        slow = [a for a in self.actions if a.seconds >= REQUEST_LIMIT]
        assert not slow, f"{len(slow)} requests took {REQUEST_LIMIT} s or more: {slow[:3]}"

    def check_one_record_each(self) -> None:
        tags = [a.tag for a in self.actions]
        counts = Counter(
            AuditRecord.objects.filter(resource_name__in=tags).values_list(
                "resource_name", flat=True
            )
        )
        wrong = {t: counts.get(t, 0) for t in tags if counts.get(t, 0) != 1}
        assert not wrong, f"actions without exactly one record: {list(wrong.items())[:5]}"
        for action in self.actions:
            if action.record_id is not None:
                assert AuditRecord.objects.filter(pk=action.record_id, resource_name=action.tag)

    def report(self) -> None:
        figures = {
            "actions": len(self.actions),
            "max_request_s": round(self.max_seconds, 2),
            **self.figures,
        }
        line = " ".join(f"{k}={v}" for k, v in figures.items())
        print(f"\nFAULTS {self.name}: {line}")
        log = os.environ.get("FLEX_FAULTS_REPORT")
        if log:
            with open(log, "a") as out:
                out.write(json.dumps({"scenario": self.name, **figures}) + "\n")


class Actor:
    """Issues topic operations through ``topics.operations.run`` (the path the views take)."""

    def __init__(self, user, cluster_id: str, ledger: Ledger) -> None:
        self.user = user
        self.cluster_id = cluster_id
        self.ledger = ledger
        self._turn = -1
        self.ctx = Ctx(
            client_ip="127.0.0.1", user_agent="flex-faults", via="api", cluster_id=cluster_id
        )

    def _run(self, kind: str, build: Callable[[str], object]) -> Action:
        tag = self.ledger.tag(kind)
        operation = build(tag)
        started = time.monotonic()
        outcome = operations.run(self.user, operation, self.ctx)
        seconds = time.monotonic() - started
        record_id = str(outcome.record.pk) if outcome.record is not None else None
        return self.ledger.add(Action(tag, kind, outcome.status, seconds, record_id))

    def create(self) -> Action:
        """An allowed create-topic: a real call to the broker."""
        return self._run(
            "create",
            lambda name: operations.topic_create(
                operations.target(self.cluster_id),
                validation.check_create({"name": name}),
                {"name": name},
            ),
        )

    def delete(self) -> Action:
        """A delete-topic no policy allows: denied before Kafka, recorded all the same."""
        return self._run(
            "delete",
            lambda name: operations.topic_delete(
                operations.target(self.cluster_id), name, validation.Checked(True)
            ),
        )

    def mixed(self, n: int) -> list[Action]:
        """``n`` actions, one create for every two denied deletes."""
        return [self.next() for _ in range(n)]

    def next(self) -> Action:
        self._turn += 1
        return self.create() if self._turn % 3 == 0 else self.delete()

    def for_seconds(self, seconds: float, pause: float = 0.05) -> int:
        """Keep acting (as ``mixed``) for ``seconds``; the number of actions issued."""
        deadline, count = time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            self.next()
            count += 1
            time.sleep(pause)
        return count


@pytest.fixture
def world(stack: Stack, personas) -> dict:
    """bob may create topics (and nothing else) on the stack's broker, the primary cluster."""
    Policy.objects.create(
        resource=["cluster", "*"], effect="Allow", actions=["TOPIC_CREATE"], roles=["platform"]
    )
    engine.invalidate()
    cluster = primary_cluster()
    kafka_client.describe_cluster(cluster)
    cluster.refresh_from_db()
    return {"user": personas["bob"], "cluster_id": cluster.key}


@pytest.fixture
def ledger(request: pytest.FixtureRequest) -> Ledger:
    name = request.node.name.removeprefix("test_").split("[")[0]
    return Ledger(name=name[:24])


@pytest.fixture
def actor(world: dict, ledger: Ledger) -> Actor:
    return Actor(world["user"], world["cluster_id"], ledger)


RECORD_LINK = re.compile(r"audit record ([0-9a-f-]{36})")


@pytest.fixture
def slack(stack, settings):
    """A Slack stand-in every process of the stack (and this one) posts to."""
    stub = SlackStub().start()
    settings.SLACK_WEBHOOK_URL = stub.url
    stack.configure(SLACK_WEBHOOK_URL=stub.url)
    yield stub
    stub.stop()


def slack_ids(stub: SlackStub) -> list[str]:
    """The record id each message Slack accepted links to."""
    ids = []
    for message in stub.delivered():
        (found,) = RECORD_LINK.findall(message["attachments"][0]["footer"])
        ids.append(found)
    return ids


# Reading the audit topic ---------------------------------------------------------------


def read_audit_topic(bootstrap: str, want: set[str], timeout: float = 20.0) -> list[tuple]:
    """Every message on the audit topic, read from the beginning with partitions assigned
    by hand: (key, document). Reads until every id in ``want`` was seen and each
    partition's end is reached, or ``timeout``."""
    from kafka import KafkaConsumer, TopicPartition

    topic = settings.FLEX_AUDIT_TOPIC
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        allow_auto_create_topics=False,
        request_timeout_ms=5000,
    )
    messages: list[tuple] = []
    try:
        partitions = wait_until(lambda: consumer.partitions_for_topic(topic), timeout, step=0.2)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                for m in batch:
                    messages.append((m.key.decode(), json.loads(m.value)))
                    seen.add(m.key.decode())
            if want <= seen:
                end = consumer.end_offsets(tps)
                if all(consumer.position(tp) >= end[tp] for tp in tps):
                    break
        return messages
    finally:
        consumer.close()


def all_delivered(sink: str) -> bool:
    rows = Delivery.objects.filter(sink=sink)
    return rows.exists() and not rows.exclude(status=Delivery.DELIVERED).exists()


def wait_delivered(sink: str, stack: Stack, timeout: float) -> None:
    """Wait until every record reached ``sink``; on failure show where the rest stand."""
    try:
        wait_until(lambda: all_delivered(sink), timeout, step=0.2)
    except AssertionError:
        rows = Delivery.objects.filter(sink=sink).exclude(status=Delivery.DELIVERED)
        fields = ("status", "attempts", "next_attempt_at", "last_attempt_at", "last_error")
        print(f"{rows.count()} {sink} rows not delivered at {timezone.now()}:")
        for row in rows.values_list(*fields)[:10]:
            print(row)
        print(stack.logs())
        raise


def check_topic(ledger: Ledger, bootstrap: str, earlier: list[tuple] = ()) -> None:
    """Every record is on the topic (``earlier``: read from a broker incarnation that is gone);
    every message carries a real record id as key and in its value; duplicates counted."""
    ids = {str(pk) for pk in AuditRecord.objects.values_list("pk", flat=True)}
    messages = list(earlier) + read_audit_topic(bootstrap, ids - {k for k, _ in earlier})
    assert all(key == document["id"] for key, document in messages), "a key differs from its id"
    on_topic = Counter(key for key, _ in messages)
    # Records written while the topic was read (by beat's tasks, say) are real records too.
    strangers = set(on_topic) - ids
    strangers -= {
        str(pk) for pk in AuditRecord.objects.filter(pk__in=strangers).values_list("pk", flat=True)
    }
    assert not strangers, f"ids on the topic that are no record: {sorted(strangers)[:5]}"
    missing = ids - set(on_topic)
    assert not missing, f"{len(missing)} of {len(ids)} records never reached the topic"
    ledger.figures["records"] = len(ids)
    ledger.figures["topic_messages"] = len(messages)
    ledger.figures["duplicates"] = len(messages) - len(on_topic)


def check_chain(ledger: Ledger, timeout: float = 30.0) -> None:
    """Every record sealed, then ``audit_verify`` passes."""
    pending = PendingSeal.objects.filter(refused_at=None)
    wait_until(lambda: not pending.exists(), timeout, step=0.2)
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "audit chain intact" in out.getvalue()
    assert ", 0 not sealed yet" in out.getvalue()
    sealed = AuditRecord.objects.count()
    assert f"{sealed} sealed records" in out.getvalue()
    ledger.figures["sealed"] = sealed


def finish(ledger: Ledger, stack: Stack, recovered_from: float, earlier: list[tuple] = ()) -> None:
    """The checks every scenario ends with, after its fault is over (``recovered_from``);
    the scenario then adds its own and calls ``ledger.report()``."""
    ledger.check_requests()
    ledger.check_one_record_each()
    wait_delivered("kafka", stack, 90)
    ledger.figures["recovery_s"] = round(time.monotonic() - recovered_from, 1)
    check_topic(ledger, stack.broker.bootstrap, earlier)
    check_chain(ledger)
