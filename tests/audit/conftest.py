"""Audit test helpers: actors, policies, raw SQL, a module-wide worker with Slack and webhook
stand-ins, and reading the audit topic with a real consumer."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from audit import gate
from audit.gate import Ctx, Operation
from audit.models import AuditRecord
from rbac import engine
from rbac.models import Policy
from rbac.roles import Actor
from standins.http import Request, Response, StubServer
from tests.conftest import Broker, Worker, redis_flush
from tests.stubs.slack import SlackStub
from topics import audit_sink

CLUSTER_ID = "Enpl9Kw4QK6pwK0LaRVssQ"

JOHN = Actor(
    flex_id=uuid.UUID("e69002ee-467d-4d6f-8236-054c58b2a00c"),
    login="JohnSmithGithub",
    name="John Smith",
    email="john@example.com",
    provider="github",
    roles=("platform",),
)


def allow(actions: list[str], resource: list[str] | None = None, role: str = "*") -> Policy:
    policy = Policy.objects.create(
        resource=resource or ["cluster", "*"], effect="Allow", actions=actions, roles=[role]
    )
    engine.invalidate()
    return policy


def noop(result: object = None) -> Callable[[], object]:
    return lambda: result


def create_topic_op(name: str = "tx-events", execute: Callable[[], object] | None = None, **kw):
    return Operation(
        event="mutation/create-topic",
        action=kw.pop("action", "TOPIC_CREATE"),
        resource=["cluster", CLUSTER_ID, "topic", name],
        request={
            "topic-name": name,
            "replication-factor": "1",
            "partitions": "1",
            "config-items": kw.pop("config_items", {}),
        },
        execute=execute or noop(),
        **kw,
    )


def ctx() -> Ctx:
    return Ctx(client_ip="127.0.0.1", user_agent="pytest", via="ui", cluster_id=CLUSTER_ID)


def act(n: int = 1, name: str = "tx-events") -> list[AuditRecord]:
    """``n`` allowed create-topic actions through the gate (no Kafka call); their records."""
    return [gate.perform(JOHN, create_topic_op(name), ctx()).record for _ in range(n)]


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


@pytest.fixture(autouse=True)
def fresh_policies() -> Iterator[None]:
    """No test sees policies compiled for another (rolled back) test."""
    engine.invalidate()
    yield
    engine.invalidate()


@pytest.fixture
def policies(db) -> None:
    """The seed's policy, widened as DESIGN.md's sample: anyone may create and edit topics."""
    allow(["TOPIC_CREATE", "TOPIC_EDIT"])


# Reading the audit topic ---------------------------------------------------------------


def read_topic(
    bootstrap: str, want: set[str] | None = None, timeout: float = 3.0, topic: str | None = None
) -> list:
    """Messages on the audit topic from the beginning, read with a real consumer: all of them
    (for ``timeout`` seconds), or until every key in ``want`` has been seen."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic or settings.FLEX_AUDIT_TOPIC,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        allow_auto_create_topics=False,
    )
    messages, seen = [], set()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not (want and want <= seen):
            for batch in consumer.poll(timeout_ms=200).values():
                messages.extend(batch)
                seen.update(m.key.decode() for m in batch if m.key)
        return messages
    finally:
        consumer.close()


def topic_ids(bootstrap: str, want: set[str] | None = None, timeout: float = 3.0) -> set[str]:
    """Distinct record ids on the audit topic (keys), checked against the values' ids."""
    ids = set()
    for message in read_topic(bootstrap, want, timeout):
        document = json.loads(message.value)
        assert message.key.decode() == document["id"]
        ids.add(document["id"])
    return ids


# Stand-ins and workers -----------------------------------------------------------------


class Hook:
    """A generic webhook receiver: keeps each POSTed document, answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.documents: list[dict] = []
        self.server = StubServer(self._answer).start()

    def _answer(self, request: Request) -> Response:
        if self.status == 200:
            self.documents.append(request.json())
        return Response(self.status, "")


@pytest.fixture(scope="module")
def slack_stub() -> Iterator[SlackStub]:
    stub = SlackStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def hook_stub() -> Iterator[Hook]:
    hook = Hook()
    yield hook
    hook.server.stop()


def start_worker(log: Path, **env: str) -> Worker:
    """A Celery worker on the test database and Redis db, with extra environment."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"
    redis_flush()
    full = {
        **os.environ,
        "DATABASE_URL": url,
        "FLEX_TEST_DB_NAME": "",
        "REDIS_URL": settings.REDIS_URL,
        "FLEX_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        **env,
    }
    for key in ("SLACK_WEBHOOK_URL", "WEBHOOK_URL", "SLACK_WEBHOOK_VERBOSITY"):
        if key not in env:
            full.pop(key, None)
    worker = Worker(full, log)
    worker.start()
    return worker


@pytest.fixture(scope="module")
def module_worker(
    django_db_setup, broker: Broker, slack_stub, hook_stub, tmp_path_factory
) -> Iterator[Worker]:
    """One worker for a whole module: the session broker, the Slack and webhook stand-ins."""
    worker = start_worker(
        tmp_path_factory.mktemp("worker") / "celery.log",
        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
        SLACK_WEBHOOK_URL=slack_stub.url,
        WEBHOOK_URL=hook_stub.server.url + "/hook",
        FLEX_AUDIT_SINK_TIMEOUT="1",
    )
    yield worker
    worker.stop()


@pytest.fixture
def sinks(transactional_db, module_worker, slack_stub, hook_stub, settings, broker):
    """All sinks on, as the module worker has them; stand-ins reset for this test."""
    settings.SLACK_WEBHOOK_URL = slack_stub.url
    settings.WEBHOOK_URL = hook_stub.server.url + "/hook"
    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    slack_stub.reset()
    hook_stub.status = 200
    hook_stub.documents.clear()
    audit_sink.reset_producer()
    yield module_worker
    audit_sink.reset_producer()
